// Package schema holds Gatehouse's SpiceDB schema, the authorization model
// of ../shared/domain.md, and the tests that prove it rule by rule.
package schema

import _ "embed"

// Text is the SpiceDB schema that Gatehouse writes at start.
//
//go:embed schema.zed
var Text string
