package schema

import (
	"testing"

	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
)

func TestScratch(t *testing.T) {
	dc, derrs, err := development.NewDevContext(t.Context(), &devinterface.RequestContext{Schema: Text})
	if err != nil || derrs != nil {
		t.Fatal(err, derrs)
	}
	w, err := development.GetWarnings(t.Context(), dc)
	t.Log(w, err)
}
