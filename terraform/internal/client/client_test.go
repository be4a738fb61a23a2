package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// A 503 then a 429 (each with Retry-After) are retried with the same idempotency key, and the
// third answer is decoded.
func TestDoRetriesHonouringRetryAfterWithTheSameKey(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		times = append(times, time.Now())
		switch len(keys) {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":503,"status":"UNAVAILABLE","message":"busy"}}`))
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			_, _ = w.Write([]byte(`{"name":"projects/p/operations/o","done":true}`))
		}
	}))
	defer srv.Close()
	c := New(srv.URL, "t", "test")
	req := Request{Method: http.MethodPost, Path: "projects/p/clusters/c/topics", Query: url.Values{"topic_id": {"x"}}, Body: map[string]any{}}
	var op Operation
	key, _ := CreateKey(req)
	req.IdempotencyKey = key
	if err := c.Do(context.Background(), req, &op); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 || keys[0] != key || keys[1] != key || keys[2] != key {
		t.Fatalf("keys %v, want 3 × %s", keys, key)
	}
	if gap := times[1].Sub(times[0]); gap < 900*time.Millisecond {
		t.Fatalf("retried after %v, Retry-After said 1 s", gap)
	}
	if !op.Done || op.Name != "projects/p/operations/o" {
		t.Fatalf("decoded %+v", op)
	}
}

func TestErrorsCarryReasonAndViolations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad","details":[` +
			`{"@type":"ErrorInfo","reason":"INVALID_FIELD"},{"@type":"BadRequest","field_violations":[{"field":"partition_count","description":"may only grow"}]}]}}`))
	}))
	defer srv.Close()
	err := New(srv.URL, "t", "").Do(context.Background(), Request{Method: http.MethodGet, Path: "x"}, nil)
	want := "400 INVALID_ARGUMENT (INVALID_FIELD): bad; partition_count: may only grow"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

// Wait long-polls until done and turns a failed Operation into an OperationError.
func TestWaitLongPollsAndReportsFailure(t *testing.T) {
	var polls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		polls = append(polls, r.URL.Query().Get("wait_seconds"))
		if len(polls) < 2 {
			_, _ = w.Write([]byte(`{"name":"projects/p/operations/o","done":false}`))
			return
		}
		_, _ = w.Write([]byte(`{"name":"projects/p/operations/o","done":true,"error":{"code":400,"status":"FAILED_PRECONDITION","message":"no brokers","details":[{"@type":"ErrorInfo","reason":"CLUSTER_NOT_READY"}]}}`))
	}))
	defer srv.Close()
	_, err := New(srv.URL, "t", "").Wait(context.Background(), &Operation{Name: "projects/p/operations/o"})
	opErr, ok := err.(*OperationError)
	if !ok || opErr.Status.Reason() != "CLUSTER_NOT_READY" || opErr.Status.Message != "no brokers" {
		t.Fatalf("got %#v", err)
	}
	if len(polls) != 2 || polls[0] != "30" {
		t.Fatalf("polls %v", polls)
	}
}

func TestCreateKeyIsStablePerRequest(t *testing.T) {
	a := Request{Method: "POST", Path: "p", Query: url.Values{"topic_id": {"a"}}, Body: map[string]any{"x": 1, "configs": map[string]string{"b": "2", "a": "1"}}}
	b := Request{Method: "POST", Path: "p", Query: url.Values{"topic_id": {"a"}}, Body: map[string]any{"configs": map[string]string{"a": "1", "b": "2"}, "x": 1}}
	c := Request{Method: "POST", Path: "p", Query: url.Values{"topic_id": {"b"}}, Body: map[string]any{"x": 1}}
	ka, _ := CreateKey(a)
	kb, _ := CreateKey(b)
	kc, _ := CreateKey(c)
	if ka != kb || ka == kc {
		t.Fatalf("keys %s %s %s", ka, kb, kc)
	}
}

// A create whose key replays an earlier, finished create of a since-deleted resource (the POST
// answers a done Operation, the GET 404) is sent again under a fresh key.
func TestCreateResendsWhenTheReplayedResourceIsGone(t *testing.T) {
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			keys = append(keys, r.Header.Get("Idempotency-Key"))
			done := len(keys) == 1 // the first answer is the replay
			_, _ = w.Write([]byte(`{"name":"projects/p/operations/o","done":` + map[bool]string{true: "true", false: "false"}[done] + `}`))
		case http.MethodGet:
			if r.URL.Path == "/v1/projects/p/clusters/c/topics/t" {
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"error":{"code":404,"status":"NOT_FOUND","message":"gone"}}`))
				return
			}
			_, _ = w.Write([]byte(`{"name":"projects/p/operations/o","done":true,"response":{"name":"projects/p/clusters/c/topics/t"}}`))
		}
	}))
	defer srv.Close()
	req := Request{Method: http.MethodPost, Path: "projects/p/clusters/c/topics", Query: url.Values{"topic_id": {"t"}}, Body: map[string]any{}}
	op, err := New(srv.URL, "t", "").Create(context.Background(), req, "projects/p/clusters/c/topics/t")
	if err != nil || !op.Done || len(op.Response) == 0 {
		t.Fatalf("op %+v err %v", op, err)
	}
	stable, _ := CreateKey(req)
	if len(keys) != 2 || keys[0] != stable || keys[1] == stable {
		t.Fatalf("keys %v (stable %s)", keys, stable)
	}
}
