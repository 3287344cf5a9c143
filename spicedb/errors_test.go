package spicedb

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
)

// TestTranslate: SpiceDB's gRPC errors become Gatehouse's codes in this one
// place (503 for an outage, 409 for a failed precondition, never a bare 500
// for a datastore SpiceDB cannot reach).
func TestTranslate(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code string
	}{
		{"unavailable", status.Error(codes.Unavailable, "connection refused"), gatehouse.EUNAVAILABLE},
		{"deadline", context.DeadlineExceeded, gatehouse.EUNAVAILABLE},
		{"canceled", context.Canceled, gatehouse.ECANCELED},
		{"precondition", status.Error(codes.FailedPrecondition, "unable to satisfy write precondition"), gatehouse.ECONFLICT},
		{"exists", status.Error(codes.AlreadyExists, "relationship exists"), gatehouse.ECONFLICT},
		{"invalid", status.Error(codes.InvalidArgument, "object definition `x` not found"), gatehouse.EINVALID},
		{"postgres read timed out", status.Error(codes.Unknown, "error performing check: unable to query relationships: rows err: timeout: read tcp 172.29.0.2:48718->172.17.0.1:5432: i/o timeout"), gatehouse.EUNAVAILABLE},
		{"unknown otherwise", status.Error(codes.Unknown, "something else"), gatehouse.EINTERNAL},
		{"not grpc", errors.New("boom"), gatehouse.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gatehouse.ErrorCode(translate(tc.err)); got != tc.code {
				t.Errorf("translate(%v) = %s, want %s", tc.err, got, tc.code)
			}
		})
	}
}
