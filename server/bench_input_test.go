package server_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// The hostile-input benchmark of issue 19 ("Input that costs what it
// weighs", X5): bodies of the worst shapes, each about 1 MiB (the most a
// body may weigh) unless named otherwise, POSTed with the check-only key
// to the real router on embedded SpiceDB:
//
//	go test -run '^$' -bench HostileInput -benchmem ./server/
//
// alloc-bytes/body-byte is what a request allocates, in the whole
// process, per byte of its body; it should stay a small constant for
// every shape.

// benchBody is the size of the 1 MiB shapes: maxBody less room for the
// prefix and suffix that make them a request.
const benchBody = 1<<20 - 256

// shape is one hostile body, where it goes and the status it must get.
type shape struct {
	name, path string
	body       []byte
	status     int
}

// fill returns prefix, then unit repeated until the body weighs about
// size, then suffix (repeated as often as unit, when nest is set).
func fill(prefix, unit, sep, suffix string, size int, nest bool) []byte {
	n := (size - len(prefix) - len(suffix)) / (len(unit) + len(sep))
	if nest {
		n = (size - len(prefix)) / (len(unit) + len(suffix))
	}
	var b bytes.Buffer
	b.WriteString(prefix)
	for i := range n {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(unit)
	}
	if nest {
		b.WriteString(strings.Repeat(suffix, n))
	} else {
		b.WriteString(suffix)
	}
	return b.Bytes()
}

// hostileShapes are the bodies of BenchmarkHostileInput.
func hostileShapes() []shape {
	const check = `{"resource":"contractor:c1","permission":"view","subject":"user:x"`
	keys := func(size int) []byte {
		var b bytes.Buffer
		b.WriteString(check + `,"context":{`)
		for i := 0; b.Len() < size; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":%d`, i, i)
		}
		b.WriteString(`}}`)
		return b.Bytes()
	}
	// lists is a context of many lists, each as long as a list may be.
	lists := func(size int, unit string) []byte {
		list := "[" + strings.TrimSuffix(strings.Repeat(unit+",", 9999), ",") + "]"
		var b bytes.Buffer
		b.WriteString(check + `,"context":{`)
		for i := 0; b.Len()+len(list)+16 < size; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"l%d":%s`, i, list)
		}
		b.WriteString(`}}`)
		return b.Bytes()
	}
	unknown := func(size int) []byte {
		var b bytes.Buffer
		b.WriteByte('{')
		for i := 0; b.Len() < size; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"x%d":0`, i)
		}
		b.WriteByte('}')
		return b.Bytes()
	}
	return []shape{
		{"deep_array_40KB", "/v1/check", bytes.Repeat([]byte("["), 40<<10), http.StatusBadRequest},
		{"deep_array", "/v1/check", bytes.Repeat([]byte("["), benchBody), http.StatusBadRequest},
		{"deep_object_40KB", "/v1/check", fill(check+`,"context":`, `{"a":`, "", "}", 40<<10, true), http.StatusBadRequest},
		{"deep_object", "/v1/check", fill(check+`,"context":`, `{"a":`, "", "}", benchBody, true), http.StatusBadRequest},
		{"context_keys", "/v1/check", keys(benchBody), http.StatusOK},
		{"unknown_keys", "/v1/check", unknown(benchBody), http.StatusBadRequest},
		{"long_string", "/v1/check", fill(`{"resource":"contractor:c1","permission":"view","subject":"user:`, "a", "", `"}`, benchBody, false), http.StatusBadRequest},
		{"escaped_string", "/v1/check", fill(`{"resource":"contractor:c1","permission":"view","subject":"user:`, `\u0061`, "", `"}`, benchBody, false), http.StatusBadRequest},
		{"context_string", "/v1/check", fill(check+`,"context":{"s":"`, "a", "", `"}}`, benchBody, false), http.StatusOK},
		{"context_escapes", "/v1/check", fill(check+`,"context":{"s":"`, `\u00e9`, "", `"}}`, benchBody, false), http.StatusOK},
		{"bulk_zeros", "/v1/check/bulk", fill(`{"items":[`, "0", ",", `]}`, benchBody, false), http.StatusBadRequest},
		{"bulk_empty_items", "/v1/check/bulk", fill(`{"items":[`, "{}", ",", `]}`, benchBody, false), http.StatusBadRequest},
		{"bulk_10000_items_30KB", "/v1/check/bulk", fill(`{"items":[`, "{}", ",", `]}`, 30000, false), http.StatusBadRequest},
		{"context_zeros", "/v1/check", fill(check+`,"context":{"a":[`, "0", ",", `]}}`, benchBody, false), http.StatusBadRequest},
		{"context_empty_objects", "/v1/check", fill(check+`,"context":{"a":[`, "{}", ",", `]}}`, benchBody, false), http.StatusBadRequest},
		{"context_lists_of_zeros", "/v1/check", lists(benchBody, "0"), http.StatusOK},
		{"context_lists_of_empty_arrays", "/v1/check", lists(benchBody, "[]"), http.StatusOK},
		{"context_lists_of_empty_objects", "/v1/check", lists(benchBody, "{}"), http.StatusOK},
		{"huge_exponents", "/v1/check", fill(check+`,"context":{"a":[`, "1e999999999", ",", `]}}`, benchBody, false), http.StatusBadRequest},
		{"long_number", "/v1/check", fill(check+`,"context":{"n":`, "1", "", `}}`, benchBody, false), http.StatusBadRequest},
	}
}

// BenchmarkHostileInput measures each hostile shape through the real
// handler: its time, allocations, and bytes allocated per body byte.
func BenchmarkHostileInput(b *testing.B) {
	_, h := mustServer(b, slog.New(slog.DiscardHandler), nil)
	for _, s := range hostileShapes() {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(s.body)))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				req := httptest.NewRequestWithContext(b.Context(), "POST", s.path, bytes.NewReader(s.body))
				req.Header.Set("Authorization", "Bearer "+checkKey)
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != s.status {
					b.Fatalf("%s: %d %.200s, want %d", s.name, w.Code, w.Body, s.status)
				}
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(len(s.body)), "alloc-bytes/body-byte")
		})
	}
}
