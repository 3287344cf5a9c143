package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// MustDocument loads the /openapi.json that the server at url serves,
// validated as an OpenAPI document (examples included), with its servers
// pointed at url.
func MustDocument(tb testing.TB, url string) *openapi3.T {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, url+"/openapi.json", nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		tb.Fatalf("/openapi.json does not load: %v", err)
	}
	if err := doc.Validate(tb.Context()); err != nil {
		tb.Fatalf("/openapi.json is not a valid OpenAPI document: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: url}}
	return doc
}

// conformance is a transport that holds every exchange to the served
// /openapi.json: an answer must be one the document describes, and a
// request the document refuses must be refused by the server too (so the
// document promises nothing the server does not enforce).
type conformance struct {
	tb     testing.TB
	router routers.Router
	next   http.RoundTripper
}

// validatingClient returns an HTTP client whose every exchange with the
// server at url is checked against its /openapi.json.
var registerNDJSON sync.Once

func validatingClient(tb testing.TB, url string) *http.Client {
	tb.Helper()
	// The audit export is NDJSON, which the document types as text.
	registerNDJSON.Do(func() { openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder) })
	router, err := gorillamux.NewRouter(MustDocument(tb, url))
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Transport: &conformance{tb: tb, router: router, next: http.DefaultTransport}}
}

func (v *conformance) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	v.check(req, reqBody, resp, respBody)
	return resp, nil
}

func (v *conformance) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	at := req.Method + " " + req.URL.RequestURI()
	probe := req.Clone(req.Context())
	probe.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.router.FindRoute(probe)
	if err != nil {
		// Not in the document: the server must refuse it as unknown.
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			v.tb.Errorf("openapi: %s is not in /openapi.json but was answered %d", at, resp.StatusCode)
		}
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil && resp.StatusCode < 400 {
		v.tb.Errorf("openapi: /openapi.json refuses %s (%v) but the server answered %d", at, err, resp.StatusCode)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.tb.Errorf("openapi: the answer %d to %s is not what /openapi.json describes: %v\n%s", resp.StatusCode, at, err, clip(respBody))
	}
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	if !json.Valid(b) {
		return "(not JSON) " + string(b)
	}
	return string(b)
}
