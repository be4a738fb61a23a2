package provider

// Unit tests of the scale machinery, without any network: the list cache of a refresh
// (listcache.go), the coalescing of topic creates (batchcreate.go), and what a single create may
// adopt after a batch of a killed run.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kplane/terraform-provider-kplane/internal/client"
)

const testTopics = "projects/p/clusters/c/topics"

// fakeAPI counts the list and get calls of a listCache; get blocks until release is closed when
// block is set, so a test can hold one Read in flight.
type fakeAPI struct {
	mu      sync.Mutex
	rows    map[string]json.RawMessage
	lists   atomic.Int32
	gets    atomic.Int32
	block   bool
	entered chan struct{}
	release chan struct{}
	listErr error
}

func newFakeAPI(n int) *fakeAPI {
	f := &fakeAPI{rows: map[string]json.RawMessage{}, entered: make(chan struct{}, 100), release: make(chan struct{})}
	for i := range n {
		name := fmt.Sprintf("%s/t%d", testTopics, i)
		f.rows[name] = json.RawMessage(fmt.Sprintf(`{"name":%q,"partition_count":%d}`, name, i+1))
	}
	return f
}

func (f *fakeAPI) cache() *listCache {
	return newListCache(
		func(_ context.Context, col string) (map[string]json.RawMessage, error) {
			f.lists.Add(1)
			if f.listErr != nil {
				return nil, f.listErr
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			out := map[string]json.RawMessage{}
			for k, v := range f.rows {
				if collectionOf(k) == col {
					out[k] = v
				}
			}
			return out, nil
		},
		func(_ context.Context, name string, out any) (bool, error) {
			f.gets.Add(1)
			if f.block {
				f.entered <- struct{}{}
				<-f.release
			}
			f.mu.Lock()
			row, ok := f.rows[name]
			f.mu.Unlock()
			if !ok {
				return false, nil
			}
			return true, json.Unmarshal(row, out)
		})
}

func readTopic(t *testing.T, c *listCache, name string) (topicAPI, bool) {
	t.Helper()
	var got topicAPI
	found, err := c.read(context.Background(), name, &got)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return got, found
}

// One Read alone costs one GET and no list.
func TestListCacheLoneReadIsOneGet(t *testing.T) {
	f := newFakeAPI(3)
	c := f.cache()
	got, found := readTopic(t, c, testTopics+"/t1")
	if !found || got.PartitionCount != 2 || f.gets.Load() != 1 || f.lists.Load() != 0 {
		t.Fatalf("found=%v %+v gets=%d lists=%d", found, got, f.gets.Load(), f.lists.Load())
	}
}

// Reads arriving while another Read of the collection is in flight are answered by one list; a
// topic missing from it is not found (as a 404 would say); later Reads within listTTL take their
// rows from it, a write drops it, and after listTTL it is listed again.
func TestListCacheManyReadsOneList(t *testing.T) {
	f := newFakeAPI(50)
	f.block = true
	c := f.cache()
	now := time.Now()
	c.now = func() time.Time { return now }
	first := make(chan bool)
	go func() {
		_, found := readTopic(t, c, testTopics+"/t0")
		first <- found
	}()
	<-f.entered // the first Read is in flight
	var wg sync.WaitGroup
	for i := 1; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, found := readTopic(t, c, fmt.Sprintf("%s/t%d", testTopics, i))
			if !found || got.PartitionCount != int64(i+1) {
				t.Errorf("t%d: found=%v %+v", i, found, got)
			}
		}()
	}
	wg.Wait()
	close(f.release)
	if !<-first {
		t.Fatal("t0 not found")
	}
	if f.gets.Load() != 1 || f.lists.Load() != 1 {
		t.Fatalf("gets=%d lists=%d, want 1 and 1", f.gets.Load(), f.lists.Load())
	}
	f.block = false
	if _, found := readTopic(t, c, testTopics+"/gone"); found {
		t.Fatal("a topic missing from the listing was found")
	}
	if f.gets.Load() != 1 {
		t.Fatal("a listed collection was read with a GET")
	}
	c.invalidate(testTopics + "/t3")
	readTopic(t, c, testTopics+"/t3")
	if f.gets.Load() != 2 {
		t.Fatalf("after a write the Read did not GET (gets=%d)", f.gets.Load())
	}
	// Another collection is not answered by this one's listing.
	if _, found := readTopic(t, c, "projects/p/clusters/other/topics/t1"); found || f.gets.Load() != 3 {
		t.Fatalf("other cluster: found=%v gets=%d", found, f.gets.Load())
	}
}

// A listing older than listTTL is not used.
func TestListCacheExpires(t *testing.T) {
	f := newFakeAPI(2)
	c := f.cache()
	now := time.Now()
	c.now = func() time.Time { return now }
	l := &listing{done: make(chan struct{}), at: now, rows: map[string]json.RawMessage{}}
	close(l.done)
	c.collection(testTopics).listing = l
	if _, found := readTopic(t, c, testTopics+"/t0"); found || f.gets.Load() != 0 {
		t.Fatal("the fresh (empty) listing was not used")
	}
	now = now.Add(listTTL)
	if _, found := readTopic(t, c, testTopics+"/t0"); !found || f.gets.Load() != 1 {
		t.Fatalf("expired listing used: gets=%d", f.gets.Load())
	}
}

// A failed list: each waiting Read does its own GET.
func TestListCacheListErrorFallsBackToGet(t *testing.T) {
	f := newFakeAPI(5)
	f.block = true
	f.listErr = errors.New("503")
	c := f.cache()
	done := make(chan struct{})
	go func() {
		readTopic(t, c, testTopics+"/t0")
		close(done)
	}()
	<-f.entered
	f.block = false // the first get has read it already (it signalled entered)
	got, found := readTopic(t, c, testTopics+"/t4")
	close(f.release)
	<-done
	if !found || got.PartitionCount != 5 || f.lists.Load() != 1 || f.gets.Load() != 2 {
		t.Fatalf("found=%v gets=%d lists=%d", found, f.gets.Load(), f.lists.Load())
	}
}

func TestCollectionOf(t *testing.T) {
	for name, want := range map[string]string{
		"projects/p/clusters/c/topics/t":            "projects/p/clusters/c/topics",
		"projects/p/clusters/c/acls/topic/orders":   "projects/p/clusters/c/acls",
		"projects/p/clusters/c/acls/topicPrefixed/": "projects/p/clusters/c/acls",
		"projects/p/clusters/c/users/u":             "projects/p/clusters/c/users",
	} {
		if got := collectionOf(name); got != want {
			t.Fatalf("%s: %s", name, got)
		}
	}
}

// recordingSend records the batches sent and answers one Operation per entry, named after it.
type recordingSend struct {
	mu      sync.Mutex
	batches [][]batchEntry
	err     error
}

func (s *recordingSend) send(_ context.Context, col string, entries []batchEntry) ([]*client.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, entries)
	if s.err != nil {
		return nil, s.err
	}
	ops := make([]*client.Operation, len(entries))
	for i, e := range entries {
		ops[i] = &client.Operation{Name: "projects/p/operations/" + e.TopicID}
	}
	return ops, nil
}

func submitAll(t *testing.T, b *topicBatcher, ids []string) []batchOutcome {
	t.Helper()
	out := make([]batchOutcome, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if out[i], err = b.submit(context.Background(), testTopics, batchEntry{TopicID: id, Topic: map[string]any{}}); err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}()
	}
	wg.Wait()
	return out
}

// Creates arriving together go out as one batch, sorted by topic id (so the same set is the same
// request and idempotency key in any order), and each gets its own Operation.
func TestBatcherCoalescesAndSorts(t *testing.T) {
	s := &recordingSend{}
	b := newTopicBatcher(s.send)
	b.window = time.Second // every submit below arrives within it
	ids := []string{"c", "a", "d", "b"}
	out := submitAll(t, b, ids)
	if len(s.batches) != 1 || len(s.batches[0]) != 4 {
		t.Fatalf("batches: %v", s.batches)
	}
	for i, want := range []string{"a", "b", "c", "d"} {
		if s.batches[0][i].TopicID != want {
			t.Fatalf("batch not sorted: %v", s.batches[0])
		}
	}
	for i, id := range ids {
		if out[i].alone || out[i].op == nil || out[i].op.Name != "projects/p/operations/"+id {
			t.Fatalf("%s got %+v", id, out[i])
		}
	}
}

// A lone create is not batched; a full batch goes out before the window ends.
func TestBatcherAloneAndFull(t *testing.T) {
	s := &recordingSend{}
	b := newTopicBatcher(s.send)
	if out := submitAll(t, b, []string{"x"}); !out[0].alone || len(s.batches) != 0 {
		t.Fatalf("lone create: %+v, batches %v", out[0], s.batches)
	}
	b.window, b.max = time.Hour, 3
	started := time.Now()
	out := submitAll(t, b, []string{"a", "b", "c"})
	if time.Since(started) > time.Minute || len(s.batches) != 1 || out[2].op == nil {
		t.Fatalf("full batch not flushed: %v", s.batches)
	}
}

// A refused batch: every entry is sent alone (each gets its own diagnostic, its own key).
func TestBatcherRefusedBatchSendsEachAlone(t *testing.T) {
	refused := &client.Status{Code: http.StatusConflict, Status: "ALREADY_EXISTS", Message: "topics exist: b"}
	s := &recordingSend{err: refused}
	b := newTopicBatcher(s.send)
	b.window = time.Second
	for _, o := range submitAll(t, b, []string{"a", "b", "c"}) {
		if !o.alone || !errors.Is(o.batchErr, refused) {
			t.Fatalf("%+v", o)
		}
	}
}

// What a single create may adopt after a 409: exactly its desired state, created within the
// idempotency window.
func TestAdoptable(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	body := map[string]any{"partition_count": int64(3), "configs": map[string]string{"retention.ms": "1"}, "labels": map[string]string{}}
	base := topicAPI{PartitionCount: 3, ReplicationFactor: 2, Configs: map[string]string{"retention.ms": "1"},
		CreateTime: now.Add(-time.Hour).Format(time.RFC3339Nano)}
	if !adoptable(&base, body, now) {
		t.Fatal("identical recent topic not adoptable")
	}
	for what, change := range map[string]func(*topicAPI){
		"old":        func(t *topicAPI) { t.CreateTime = now.Add(-25 * time.Hour).Format(time.RFC3339Nano) },
		"partitions": func(t *topicAPI) { t.PartitionCount = 4 },
		"configs":    func(t *topicAPI) { t.Configs = map[string]string{"retention.ms": "2"} },
		"labels":     func(t *topicAPI) { t.Labels = map[string]string{"team": "x"} },
		"no time":    func(t *topicAPI) { t.CreateTime = "" },
	} {
		other := base
		change(&other)
		if adoptable(&other, body, now) {
			t.Fatalf("%s: adoptable", what)
		}
	}
	withRF := map[string]any{"replication_factor": int64(3), "configs": map[string]string{"retention.ms": "1"}, "labels": map[string]string{}}
	if adoptable(&base, withRF, now) {
		t.Fatal("other replication factor adoptable")
	}
}

// The re-run of a killed apply, through the client against a loopback fake of the API: the batch
// meets a topic the killed run created (409), so each entry is sent alone with its own key; the
// new topic is created, the existing identical one is adopted (its create Operation waited on),
// and one existing with another partition count stays a 409 ALREADY_EXISTS diagnostic.
func TestCreateAfterRefusedBatch(t *testing.T) {
	recent := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	topic := func(id string, partitions int) string {
		return fmt.Sprintf(`{"name":"%s/%s","partition_count":%d,"replication_factor":1,"configs":{},"create_time":%q}`,
			testTopics, id, partitions, recent)
	}
	exists := map[string]string{"old": topic("old", 1), "clash": topic("clash", 7)}
	conflict := `{"error":{"code":409,"status":"ALREADY_EXISTS","message":"exists"}}`
	var mu sync.Mutex
	var calls []string
	keys := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		p := strings.TrimPrefix(r.URL.Path, "/v1/")
		switch {
		case r.Method == http.MethodPost && p == testTopics+":batchCreate":
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(conflict))
		case r.Method == http.MethodPost && p == testTopics:
			id := r.URL.Query().Get("topic_id")
			keys[id] = r.Header.Get("Idempotency-Key")
			if _, ok := exists[id]; ok {
				w.WriteHeader(http.StatusConflict)
				_, _ = w.Write([]byte(conflict))
				return
			}
			exists[id] = topic(id, 1)
			fmt.Fprintf(w, `{"name":"projects/p/operations/new-%s","done":false}`, id)
		case p == "projects/p/operations":
			target := strings.TrimSuffix(strings.TrimPrefix(r.URL.Query().Get("filter"), `target = "`), `" AND verb = create`)
			fmt.Fprintf(w, `{"operations":[{"name":"projects/p/operations/first-%s","done":false}]}`, target[strings.LastIndex(target, "/")+1:])
		case strings.HasPrefix(p, "projects/p/operations/"):
			id := p[strings.LastIndex(p, "-")+1:]
			fmt.Fprintf(w, `{"name":%q,"done":true,"response":%s}`, p, exists[id])
		case strings.HasPrefix(p, testTopics+"/"):
			if body, ok := exists[strings.TrimPrefix(p, testTopics+"/")]; ok {
				_, _ = w.Write([]byte(body))
				return
			}
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":404,"status":"NOT_FOUND","message":"no"}}`))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
	}))
	defer srv.Close()
	api := client.New(srv.URL, "t", "test")
	r := &topicResource{base{data: &providerData{client: api, topicCreates: newTopicBatcher(clientSendBatch(api))}}}
	r.data.topicCreates.window = time.Second
	requests := map[string]client.Request{}
	errs := map[string]error{}
	ops := map[string]*client.Operation{}
	var wg sync.WaitGroup
	for _, id := range []string{"new", "old", "clash"} {
		body := map[string]any{"partition_count": int64(1), "configs": map[string]string{}, "labels": map[string]string{}}
		req := client.Request{Method: http.MethodPost, Path: testTopics, Query: url.Values{"topic_id": {id}}, Body: body}
		requests[id] = req
		wg.Add(1)
		go func() {
			defer wg.Done()
			op, err := r.create(context.Background(), req, testTopics+"/"+id)
			mu.Lock()
			ops[id], errs[id] = op, err
			mu.Unlock()
		}()
	}
	wg.Wait()
	if errs["new"] != nil || !ops["new"].Done || ops["new"].Name != "projects/p/operations/new-new" {
		t.Fatalf("new: %+v %v", ops["new"], errs["new"])
	}
	if errs["old"] != nil || ops["old"].Name != "projects/p/operations/first-old" {
		t.Fatalf("old not adopted: %+v %v", ops["old"], errs["old"])
	}
	if !client.IsAlreadyExists(errs["clash"]) {
		t.Fatalf("clash: %v", errs["clash"])
	}
	for id, req := range requests {
		if want, _ := client.CreateKey(req); keys[id] != want {
			t.Fatalf("%s sent alone with key %q, want its own derived key %q", id, keys[id], want)
		}
	}
	if calls[0] != "POST /v1/"+testTopics+":batchCreate" {
		t.Fatalf("first call %s", calls[0])
	}
}

// A batch whose Operations come back already done replays an earlier identical batch (same
// entries, same key, within 24 h): a topic deleted since is created again alone, one still there
// is taken as is.
func TestReplayedBatchRecreatesDeletedTopics(t *testing.T) {
	var mu sync.Mutex
	singles := map[string]int{}
	exists := map[string]bool{"kept": true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		p := strings.TrimPrefix(r.URL.Path, "/v1/")
		switch {
		case r.Method == http.MethodPost && p == testTopics+":batchCreate":
			_, _ = w.Write([]byte(`{"operations":[{"name":"projects/p/operations/b1","done":true,"response":{"name":"` +
				testTopics + `/gone"}},{"name":"projects/p/operations/b2","done":true,"response":{"name":"` + testTopics + `/kept"}}]}`))
		case r.Method == http.MethodPost && p == testTopics:
			id := r.URL.Query().Get("topic_id")
			singles[id]++
			exists[id] = true
			fmt.Fprintf(w, `{"name":"projects/p/operations/s-%s","done":false}`, id)
		case strings.HasPrefix(p, "projects/p/operations/s-"):
			fmt.Fprintf(w, `{"name":%q,"done":true,"response":{"name":"%s/%s"}}`, p, testTopics, strings.TrimPrefix(p, "projects/p/operations/s-"))
		case strings.HasPrefix(p, testTopics+"/"):
			if exists[strings.TrimPrefix(p, testTopics+"/")] {
				_, _ = w.Write([]byte(`{}`))
				return
			}
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":404,"status":"NOT_FOUND","message":"no"}}`))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
	}))
	defer srv.Close()
	api := client.New(srv.URL, "t", "test")
	r := &topicResource{base{data: &providerData{client: api, topicCreates: newTopicBatcher(clientSendBatch(api))}}}
	r.data.topicCreates.window = time.Second
	ops := map[string]*client.Operation{}
	var wg sync.WaitGroup
	for _, id := range []string{"gone", "kept"} {
		req := client.Request{Method: http.MethodPost, Path: testTopics, Query: url.Values{"topic_id": {id}},
			Body: map[string]any{"configs": map[string]string{}, "labels": map[string]string{}}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			op, err := r.create(context.Background(), req, testTopics+"/"+id)
			if err != nil {
				t.Errorf("%s: %v", id, err)
			}
			mu.Lock()
			ops[id] = op
			mu.Unlock()
		}()
	}
	wg.Wait()
	if singles["gone"] != 1 || singles["kept"] != 0 {
		t.Fatalf("single creates: %v", singles)
	}
	if ops["gone"].Name != "projects/p/operations/s-gone" || ops["kept"].Name != "projects/p/operations/b2" {
		t.Fatalf("ops: gone %s, kept %s", ops["gone"].Name, ops["kept"].Name)
	}
}
