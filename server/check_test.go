package server_test

import "testing"

func TestSeededCheck(t *testing.T) {
	a := MustSeededAPI(t)
	// K2: the admin-only contractor is hidden from the CIS processor, shown to the administrator.
	if a.Allowed("contractor:c3", "view", "user:carla") {
		t.Error("K2: carla (cis_processor) sees admin-only c3")
	}
	if !a.Allowed("contractor:c3", "view", "user:adam") {
		t.Error("K2: adam (administrator) cannot see admin-only c3")
	}
}
