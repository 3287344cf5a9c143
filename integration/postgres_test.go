package integration_test

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/gatehouse-authz/gatehouse/integration"
)

// TestSpiceDBOnPostgresKeepsDataAcrossRestart writes through SpiceDB on
// Postgres, restarts the SpiceDB container, and finds the schema and the
// data still there.
func TestSpiceDBOnPostgresKeepsDataAcrossRestart(t *testing.T) {
	integration.RequireDocker(t)
	uri := integration.MustPostgresDatabase(t)
	start := time.Now()
	sdb := integration.MustSpiceDB(t, integration.WithPostgres(uri))
	t.Logf("spicedb on postgres up (migrate, serve, schema) in %v", time.Since(start).Round(10*time.Millisecond))
	if !strings.HasPrefix(sdb.Datastore, "postgres://") {
		t.Fatalf("datastore = %q, want postgres", sdb.Datastore)
	}

	rel := &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: "organisation", ObjectId: "acme"},
		Relation: "administrator",
		Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bob"}},
	}
	conn, err := sdb.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = v1.NewPermissionsServiceClient(conn).WriteRelationships(t.Context(), &v1.WriteRelationshipsRequest{
		Updates: []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel}},
	})
	_ = conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	mustAllowed(t, sdb, true)

	restart := time.Now()
	if err := sdb.Restart(t.Context(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted spicedb in %v", time.Since(restart).Round(10*time.Millisecond))

	mustAllowed(t, sdb, true)
	conn, err = sdb.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	s, err := v1.NewSchemaServiceClient(conn).ReadSchema(t.Context(), &v1.ReadSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.GetSchemaText(), "definition organisation") {
		t.Errorf("schema after restart lacks definition organisation")
	}
}

// mustAllowed checks organisation:acme edit_details for user:bob, fully
// consistent, straight against SpiceDB.
func mustAllowed(t *testing.T, sdb *integration.SpiceDB, want bool) {
	t.Helper()
	conn, err := sdb.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	// A SpiceDB that has just started may fail its first queries while its
	// Postgres pool connects (seen on a loaded machine: an i/o timeout);
	// the claim here is that the data is there, so it may take a few tries.
	var resp *v1.CheckPermissionResponse
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		resp, err = v1.NewPermissionsServiceClient(conn).CheckPermission(t.Context(), &v1.CheckPermissionRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			Resource:    &v1.ObjectReference{ObjectType: "organisation", ObjectId: "acme"},
			Permission:  "edit_details",
			Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bob"}},
		})
		if err == nil || time.Now().After(deadline) {
			break
		}
		t.Logf("check after start: %v; trying again", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION; got != want {
		t.Fatalf("bob edit_details acme = %v, want %v", got, want)
	}
}
