package provider

// Coalescing concurrent topic creates into topics:batchCreate. tofu calls Create once per
// resource, up to -parallelism at a time; creates of topics of one cluster that arrive within
// batchWindow of each other go out as one batchCreate, and each resource's Create then waits on
// its own Operation from the batch's response.
//
// Idempotency. The batch carries an Idempotency-Key derived from its entries (sorted by topic
// id), so a retried call replays it. A batch is all or none: when it is refused (400 naming an
// entry, 409 ALREADY_EXISTS, 422) or fails, each entry is sent alone with its own derived key, and
// gets its own diagnostic; one bad topic does not fail the others. A re-run apply after a crash
// forms other batches than the killed run did, so its batch meets the topics the killed run
// created (409); those entries, sent alone, meet them again: the single create adopts a topic
// whose desired state is exactly the create's and that was created within the API's
// idempotency window (24 h) — the same thing the derived key of a single create already does
// (an identical create within 24 h replays the first). See topicResource.createOne.

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/kplane/terraform-provider-kplane/internal/client"
)

// batchWindow is how long the first create of a batch waits for others.
const batchWindow = 30 * time.Millisecond

// maxBatch is the API's limit of one topics:batchCreate.
const maxBatch = 1000

// batchEntry is one topic of a batch: its id and create body.
type batchEntry struct {
	TopicID string         `json:"topic_id"`
	Topic   map[string]any `json:"topic"`
}

// sendBatch sends one batchCreate of entries (2 or more) to the collection; the Operations, in
// the entries' order.
type sendBatch func(ctx context.Context, collection string, entries []batchEntry) ([]*client.Operation, error)

// batchOutcome is what one entry's Create gets back: its Operation (not yet waited on), or
// alone = true when it must be sent by itself (it was the only one, or the batch failed).
type batchOutcome struct {
	op       *client.Operation
	alone    bool
	batchErr error // why the batch failed, when it did
}

type topicBatcher struct {
	send   sendBatch
	window time.Duration
	max    int

	mu      sync.Mutex
	pending map[string]*topicBatch // by collection
}

type topicBatch struct {
	entries []batchEntry
	waiters []chan batchOutcome
	ctx     context.Context // the first entry's, without its cancellation
}

func newTopicBatcher(send sendBatch) *topicBatcher {
	return &topicBatcher{send: send, window: batchWindow, max: maxBatch, pending: map[string]*topicBatch{}}
}

// clientSendBatch sends a batch through the API with a key derived from its (sorted) entries.
func clientSendBatch(api *client.Client) sendBatch {
	return func(ctx context.Context, collection string, entries []batchEntry) ([]*client.Operation, error) {
		req := client.Request{
			Method: http.MethodPost, Path: collection + ":batchCreate",
			Body: map[string]any{"requests": entries},
		}
		key, err := client.CreateKey(req)
		if err != nil {
			return nil, err
		}
		req.IdempotencyKey = key
		var out struct {
			Operations []*client.Operation `json:"operations"`
		}
		if err := api.Do(ctx, req, &out); err != nil {
			return nil, err
		}
		return out.Operations, nil
	}
}

// submit adds a create to the collection's batch and waits for the batch's outcome.
func (b *topicBatcher) submit(ctx context.Context, collection string, e batchEntry) (batchOutcome, error) {
	done := make(chan batchOutcome, 1)
	b.mu.Lock()
	batch, ok := b.pending[collection]
	if !ok {
		batch = &topicBatch{ctx: context.WithoutCancel(ctx)}
		b.pending[collection] = batch
		time.AfterFunc(b.window, func() { b.flush(collection, batch) })
	}
	batch.entries = append(batch.entries, e)
	batch.waiters = append(batch.waiters, done)
	full := len(batch.entries) >= b.max
	b.mu.Unlock()
	if full {
		b.flush(collection, batch)
	}
	select {
	case out := <-done:
		return out, nil
	case <-ctx.Done():
		return batchOutcome{}, ctx.Err()
	}
}

// flush sends the batch once (a full batch is flushed before its timer fires).
func (b *topicBatcher) flush(collection string, batch *topicBatch) {
	b.mu.Lock()
	if b.pending[collection] != batch {
		b.mu.Unlock()
		return
	}
	delete(b.pending, collection)
	b.mu.Unlock()
	if len(batch.entries) == 1 {
		batch.waiters[0] <- batchOutcome{alone: true}
		return
	}
	// Sorted, so the same set of creates is the same request (and key) whatever their order.
	order := make([]int, len(batch.entries))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool {
		return batch.entries[order[i]].TopicID < batch.entries[order[j]].TopicID
	})
	sorted := make([]batchEntry, len(order))
	for i, k := range order {
		sorted[i] = batch.entries[k]
	}
	ctx, cancel := context.WithTimeout(batch.ctx, 5*time.Minute)
	defer cancel()
	ops, err := b.send(ctx, collection, sorted)
	if err == nil && len(ops) != len(sorted) {
		err = &client.Status{Code: http.StatusBadGateway, Status: "BAD_RESPONSE",
			Message: "topics:batchCreate answered with another number of operations than requests"}
	}
	for i, k := range order {
		if err != nil {
			batch.waiters[k] <- batchOutcome{alone: true, batchErr: err}
		} else {
			batch.waiters[k] <- batchOutcome{op: ops[i]}
		}
	}
}
