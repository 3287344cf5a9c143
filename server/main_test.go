package server_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain removes what the test shapes start once per binary (the
// serve-testing container, the template database) after every test ran.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := closeShapes(); err != nil {
		fmt.Fprintf(os.Stderr, "removing the test shapes: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
