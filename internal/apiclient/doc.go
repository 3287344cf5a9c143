// Package apiclient is the Go client that oapi-codegen generates from
// Gatehouse's /openapi.json. It is not for use: server's tests regenerate
// it and drive it against a running server, to prove that the published
// document makes a working client. Only those tests import it.
package apiclient
