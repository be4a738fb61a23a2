// Package client is the provider's HTTP client of kplane's REST API (/v1): bearer auth, the
// API's error body as a Go error, retries of 429/503 (and of the in-flight 409 of an
// idempotency key) honouring Retry-After, idempotency keys on creates, and long-polled
// Operations.
package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Client calls one kplane API endpoint with one token.
type Client struct {
	Endpoint   string // e.g. http://127.0.0.1:8080 (no /v1)
	Token      string
	HTTP       *http.Client
	UserAgent  string
	MaxRetries int           // retries of 429/503/in-flight 409 per call
	MaxBackoff time.Duration // cap of one wait when Retry-After is missing or huge
}

// New returns a client with the provider's defaults.
func New(endpoint, token, userAgent string) *Client {
	return &Client{
		Endpoint:   strings.TrimRight(endpoint, "/"),
		Token:      token,
		HTTP:       &http.Client{Timeout: 90 * time.Second},
		UserAgent:  userAgent,
		MaxRetries: 30,
		MaxBackoff: 30 * time.Second,
	}
}

// FieldViolation is one entry of the API's BadRequest detail.
type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// ErrorDetail is one entry of an error's details: ErrorInfo or BadRequest.
type ErrorDetail struct {
	Type            string           `json:"@type"`
	Reason          string           `json:"reason,omitempty"`
	FieldViolations []FieldViolation `json:"field_violations,omitempty"`
}

// Status is the API's error body ({"error": {...}}), also an Operation's `error`.
type Status struct {
	Code    int           `json:"code"`
	Status  string        `json:"status"`
	Message string        `json:"message"`
	Details []ErrorDetail `json:"details"`
}

// Reason is the ErrorInfo reason, e.g. TOPIC_NOT_FOUND; "" when there is none.
func (s *Status) Reason() string {
	for _, d := range s.Details {
		if d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

// Error renders "404 NOT_FOUND (TOPIC_NOT_FOUND): message; field: why".
func (s *Status) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", s.Code, s.Status)
	if r := s.Reason(); r != "" {
		fmt.Fprintf(&b, " (%s)", r)
	}
	fmt.Fprintf(&b, ": %s", s.Message)
	for _, d := range s.Details {
		for _, v := range d.FieldViolations {
			fmt.Fprintf(&b, "; %s: %s", v.Field, v.Description)
		}
	}
	return b.String()
}

// IsNotFound reports whether err is the API's 404.
func IsNotFound(err error) bool {
	var s *Status
	return errors.As(err, &s) && s.Code == http.StatusNotFound
}

// IsAlreadyExists reports whether err is the API's 409 ALREADY_EXISTS.
func IsAlreadyExists(err error) bool {
	var s *Status
	return errors.As(err, &s) && s.Code == http.StatusConflict && s.Status == "ALREADY_EXISTS"
}

// Request is one call. Path is relative to /v1 (e.g. "projects/p/clusters/c").
type Request struct {
	Method         string
	Path           string
	Query          url.Values
	Body           any
	IdempotencyKey string
}

// Do sends req, retrying 429, 503 and an idempotency key's in-flight 409, and decodes a 2xx body
// into out (when out is not nil). A non-2xx answer is returned as *Status.
func (c *Client) Do(ctx context.Context, req Request, out any) error {
	var payload []byte
	if req.Body != nil {
		var err error
		if payload, err = json.Marshal(req.Body); err != nil {
			return fmt.Errorf("encoding the request body: %w", err)
		}
	}
	u := c.Endpoint + "/v1/" + strings.TrimLeft(req.Path, "/")
	if len(req.Query) > 0 {
		u += "?" + req.Query.Encode()
	}
	for attempt := 0; ; attempt++ {
		httpReq, err := http.NewRequestWithContext(ctx, req.Method, u, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		httpReq.Header.Set("Authorization", "Bearer "+c.Token)
		httpReq.Header.Set("Accept", "application/json")
		if c.UserAgent != "" {
			httpReq.Header.Set("User-Agent", c.UserAgent)
		}
		if payload != nil {
			httpReq.Header.Set("Content-Type", "application/json")
		}
		if req.IdempotencyKey != "" {
			httpReq.Header.Set("Idempotency-Key", req.IdempotencyKey)
		}
		resp, err := c.HTTP.Do(httpReq)
		if err != nil {
			return fmt.Errorf("%s %s: %w", req.Method, u, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: reading the response: %w", req.Method, u, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if out == nil || len(body) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("%s %s: decoding the response: %w", req.Method, u, err)
			}
			return nil
		}
		status := decodeStatus(resp.StatusCode, body)
		if retryable(resp, status) && attempt < c.MaxRetries {
			if err := sleep(ctx, c.backoff(resp.Header.Get("Retry-After"), attempt)); err != nil {
				return err
			}
			continue
		}
		return status
	}
}

func decodeStatus(code int, body []byte) *Status {
	var wrapped struct {
		Error *Status `json:"error"`
	}
	if json.Unmarshal(body, &wrapped) == nil && wrapped.Error != nil {
		return wrapped.Error
	}
	return &Status{Code: code, Status: http.StatusText(code), Message: strings.TrimSpace(string(body))}
}

// retryable: rate limited, unavailable, or the same idempotency key still in flight (409 with
// Retry-After). A 409 ALREADY_EXISTS or ABORTED without Retry-After is final.
func retryable(resp *http.Response, s *Status) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusConflict:
		return resp.Header.Get("Retry-After") != "" && s.Status != "ALREADY_EXISTS"
	}
	return false
}

// backoff is Retry-After (seconds or an HTTP date) when given, else exponential from 250 ms,
// capped by MaxBackoff.
func (c *Client) backoff(retryAfter string, attempt int) time.Duration {
	wait := time.Duration(250*(1<<min(attempt, 7))) * time.Millisecond
	if retryAfter != "" {
		if secs, err := strconv.ParseFloat(retryAfter, 64); err == nil && secs >= 0 {
			wait = time.Duration(secs * float64(time.Second))
		} else if at, err := http.ParseTime(retryAfter); err == nil {
			wait = time.Until(at)
		}
	}
	return max(min(wait, c.MaxBackoff), 0)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// PageSize is the page size of every list call: the API's maximum.
const PageSize = 1000

// List reads a collection (e.g. projects/p/clusters/c/topics) page by page, with the API's filter
// when not "", and hands each row (the JSON under the collection's plural, its last path
// segment) to each.
func (c *Client) List(ctx context.Context, collection, filter string, each func(row json.RawMessage) error) error {
	plural := path.Base(collection)
	for token := ""; ; {
		q := url.Values{"page_size": {strconv.Itoa(PageSize)}}
		if filter != "" {
			q.Set("filter", filter)
		}
		if token != "" {
			q.Set("page_token", token)
		}
		var page map[string]json.RawMessage
		if err := c.Do(ctx, Request{Method: http.MethodGet, Path: collection, Query: q}, &page); err != nil {
			return err
		}
		var rows []json.RawMessage
		if raw, ok := page[plural]; ok {
			if err := json.Unmarshal(raw, &rows); err != nil {
				return fmt.Errorf("listing %s: %w", collection, err)
			}
		}
		for _, row := range rows {
			if err := each(row); err != nil {
				return err
			}
		}
		token = ""
		if raw, ok := page["next_page_token"]; ok {
			_ = json.Unmarshal(raw, &token)
		}
		if token == "" {
			return nil
		}
	}
}

// Operation is a long-running operation (AIP-151).
type Operation struct {
	Name     string          `json:"name"`
	Done     bool            `json:"done"`
	Error    *Status         `json:"error"`
	Response json.RawMessage `json:"response"`
	Metadata struct {
		Verb          string `json:"verb"`
		Target        string `json:"target"`
		StatusMessage string `json:"status_message"`
	} `json:"metadata"`
	// Password is set only in the response of the call that set or generated a user's password.
	Password string `json:"password,omitempty"`
}

// OperationError is a finished Operation that failed: the API's reason and message.
type OperationError struct {
	Operation string
	Status    *Status
}

func (e *OperationError) Error() string {
	return fmt.Sprintf("operation %s failed: %s", e.Operation, e.Status.Error())
}

// Wait long-polls op until it is done (GET /v1/{op.name}?wait_seconds=N) or ctx ends; a failed
// Operation is an *OperationError. The done Operation is returned.
func (c *Client) Wait(ctx context.Context, op *Operation) (*Operation, error) {
	for !op.Done {
		wait := 30
		if deadline, ok := ctx.Deadline(); ok {
			left := int(time.Until(deadline).Seconds())
			if left < 1 {
				return op, fmt.Errorf("timed out waiting for operation %s (%s)", op.Name, op.Metadata.StatusMessage)
			}
			wait = min(wait, left)
		}
		next := &Operation{}
		q := url.Values{"wait_seconds": {strconv.Itoa(wait)}}
		if err := c.Do(ctx, Request{Method: http.MethodGet, Path: op.Name, Query: q}, next); err != nil {
			if ctx.Err() != nil {
				return op, fmt.Errorf("timed out waiting for operation %s (%s)", op.Name, op.Metadata.StatusMessage)
			}
			return op, err
		}
		next.Password = op.Password
		op = next
	}
	if op.Error != nil {
		return op, &OperationError{Operation: op.Name, Status: op.Error}
	}
	return op, nil
}

// Mutate sends a mutation that returns an Operation and waits for it.
func (c *Client) Mutate(ctx context.Context, req Request) (*Operation, error) {
	op := &Operation{}
	if err := c.Do(ctx, req, op); err != nil {
		return nil, err
	}
	return c.Wait(ctx, op)
}

// IdempotencyWindow is how long the API keeps an idempotency key's first response.
const IdempotencyWindow = 24 * time.Hour

// CreateKey is the idempotency key of a create: a UUID derived from the method, path, query and
// body, so a retried or re-run apply of the same create (after a crash, within the API's 24 h)
// replays the first call instead of failing or duplicating.
func CreateKey(req Request) (string, error) {
	body, err := json.Marshal(req.Body)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", req.Method, req.Path, req.Query.Encode())
	h.Write(body)
	return uuid.NewSHA1(uuid.NameSpaceURL, h.Sum(nil)).String(), nil
}

// Create sends a create with its idempotency key and waits for the Operation. When the key
// replays an earlier create whose resource has since been deleted (getPath answers 404), the
// create is sent once more under a fresh random key.
func (c *Client) Create(ctx context.Context, req Request, getPath string) (*Operation, error) {
	key, err := CreateKey(req)
	if err != nil {
		return nil, err
	}
	req.IdempotencyKey = key
	op := &Operation{}
	if err := c.Do(ctx, req, op); err != nil {
		return nil, err
	}
	// A fresh create answers with a running Operation; one already done is (almost always) the
	// replay of an earlier create, whose resource may have been deleted since: check.
	replayed := op.Done
	if op, err = c.Wait(ctx, op); err != nil || !replayed {
		return op, err
	}
	err = c.Do(ctx, Request{Method: http.MethodGet, Path: getPath}, nil)
	if !IsNotFound(err) {
		return op, err
	}
	req.IdempotencyKey = uuid.NewString()
	return c.Mutate(ctx, req)
}

// CreateSync is Create for the synchronous creates (projects, tokens): the response is the
// resource itself, decoded into out.
func (c *Client) CreateSync(ctx context.Context, req Request, getPath string, out any) error {
	key, err := CreateKey(req)
	if err != nil {
		return err
	}
	req.IdempotencyKey = key
	if err := c.Do(ctx, req, out); err != nil {
		return err
	}
	err = c.Do(ctx, Request{Method: http.MethodGet, Path: getPath}, nil)
	if !IsNotFound(err) {
		return err
	}
	req.IdempotencyKey = uuid.NewString()
	return c.Do(ctx, req, out)
}
