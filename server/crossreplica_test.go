package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/wire"
)

// TestCrossReplicaReadYourWrites grants and revokes through one replica
// and checks through the next (in the remote-postgres shape the client
// takes turns between two; elsewhere there is one), with no consistency
// in any body: the Gatehouse-Zed-Token header the client carries makes
// each check see the write before it.
func TestCrossReplicaReadYourWrites(t *testing.T) {
	a := MustSeededAPI(t)
	for i := range 20 {
		user := fmt.Sprintf("user:xr%d", i)
		rel := "organisation:brightcis#cis_processor@" + user
		if r := a.Do("POST", "/v1/relationships", "", map[string]any{"touch": []string{rel}}); r.Status != http.StatusOK {
			t.Fatalf("touch: %d %s", r.Status, r.Raw)
		}
		if !a.Allowed("contractor:c1", "view", user) {
			t.Fatalf("check on the next replica right after granting %s denies", user)
		}
		if r := a.Do("POST", "/v1/relationships", "", map[string]any{"delete": []string{rel}}); r.Status != http.StatusOK {
			t.Fatalf("delete: %d %s", r.Status, r.Raw)
		}
		r := a.Do("POST", "/v1/lookup/resources", "", map[string]any{"resourceType": "contractor", "permission": "view", "subject": user})
		if r.Status != http.StatusOK || len(r.Body["resources"].([]any)) != 0 {
			t.Fatalf("lookup on the next replica right after revoking %s: %d %s", user, r.Status, r.Raw)
		}
	}
}

// TestCallerTokenHeader_Bounded refuses a Gatehouse-Zed-Token over 1 KiB
// with 400 naming the header.
func TestCallerTokenHeader_Bounded(t *testing.T) {
	s := mustSecured(t, nil)
	st, _, body := s.send("POST", "/v1/check", map[string]string{
		"Authorization":     "Bearer " + testKey,
		"Content-Type":      "application/json",
		wire.ZedTokenHeader: strings.Repeat("a", 1025),
	}, `{"resource":"contractor:c1","permission":"view","subject":"user:carla"}`)
	if st != http.StatusBadRequest || !strings.Contains(body, `"field":"`+wire.ZedTokenHeader+`"`) {
		t.Fatalf("a 1025-byte token: %d %s, want 400 naming %s", st, body, wire.ZedTokenHeader)
	}
}
