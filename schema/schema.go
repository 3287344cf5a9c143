// Package schema holds Gatehouse's SpiceDB schema, the authorization model
// of ../shared/domain.md, and the tests that prove it rule by rule
// (validation.yaml, run in-process by zed's engine, and the permission
// matrix). Any package may import it; it imports only SpiceDB's schema
// compiler.
package schema

import _ "embed"

// Text is the SpiceDB schema that Gatehouse writes at start.
//
//go:embed schema.zed
var Text string
