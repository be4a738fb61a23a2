package provider

// Refresh from list calls. A plan refreshes every resource with one Read each; for a
// configuration of many topics (users, ACLs) of one cluster, one list of the cluster's
// collection (pages of 1,000) answers them all instead of one GET each. The listing is kept in
// the provider process for a short time (listTTL), keyed by collection, and dropped by any write
// of that collection by this provider; a resource missing from it is gone (404), exactly as a GET
// would say.
//
// A lone Read costs one GET, as before: the list is made only when a second Read of the same
// collection arrives while another is in flight (tofu reads up to -parallelism resources at once),
// so a configuration with one topic of a cluster of 16,000 never lists 16 pages.

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"
)

// listTTL bounds how stale a listed row may be when a Read takes it: a plan's refresh of
// thousands of resources takes longer than this, and lists again.
const listTTL = 30 * time.Second

// listFunc reads a whole collection: its rows by resource name.
type listFunc func(ctx context.Context, collection string) (map[string]json.RawMessage, error)

// getFunc reads one resource into out; found is false on 404.
type getFunc func(ctx context.Context, name string, out any) (found bool, err error)

type listCache struct {
	list listFunc
	get  getFunc
	now  func() time.Time

	mu    sync.Mutex
	byCol map[string]*collectionReads
}

// collectionReads is one collection's state: Reads in flight, the generation (bumped by each
// write, so a listing started before a write is not kept), and the current listing.
type collectionReads struct {
	inFlight   int
	generation int
	listing    *listing
}

// listing is one list call's result; done closes when rows/err are set.
type listing struct {
	done       chan struct{}
	rows       map[string]json.RawMessage
	err        error
	at         time.Time
	generation int
}

func newListCache(list listFunc, get getFunc) *listCache {
	return &listCache{list: list, get: get, now: time.Now, byCol: map[string]*collectionReads{}}
}

// clientListFunc lists a collection through the API, keyed by each row's name.
func clientListFunc(api interface {
	List(ctx context.Context, collection, filter string, each func(json.RawMessage) error) error
}) listFunc {
	return func(ctx context.Context, collection string) (map[string]json.RawMessage, error) {
		rows := map[string]json.RawMessage{}
		err := api.List(ctx, collection, "", func(row json.RawMessage) error {
			var named struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(row, &named); err != nil {
				return fmt.Errorf("listing %s: %w", collection, err)
			}
			rows[named.Name] = row
			return nil
		})
		return rows, err
	}
}

// collectionOf is the collection a cluster child belongs to:
// projects/p/clusters/c/topics/t -> projects/p/clusters/c/topics (ACL ids may contain '/').
func collectionOf(name string) string {
	parts := strings.SplitN(name, "/", 6)
	if len(parts) < 6 {
		return path.Dir(name)
	}
	return strings.Join(parts[:5], "/")
}

// read sets out to the resource `name` (a child of a cluster) from the run's listing of its
// collection, or from a GET; found is false when the API says it does not exist.
func (c *listCache) read(ctx context.Context, name string, out any) (found bool, err error) {
	col := collectionOf(name)
	c.mu.Lock()
	reads := c.collection(col)
	l := reads.listing
	if l != nil && !c.fresh(l) {
		l, reads.listing = nil, nil
	}
	if l == nil && reads.inFlight > 0 {
		// Another Read of this collection is under way: many are being refreshed, list them.
		l = &listing{done: make(chan struct{}), generation: reads.generation}
		reads.listing = l
		go c.fill(ctx, col, l)
	}
	if l == nil {
		reads.inFlight++
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			reads.inFlight--
			c.mu.Unlock()
		}()
		return c.get(ctx, name, out)
	}
	c.mu.Unlock()
	select {
	case <-l.done:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	if l.err != nil {
		return c.get(ctx, name, out) // the list failed: this Read's own GET says why, or succeeds
	}
	row, ok := l.rows[name]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(row, out)
}

// fill runs one list call for the collection. It does not end with the Read that started it:
// the others wait on it too.
func (c *listCache) fill(ctx context.Context, col string, l *listing) {
	rows, err := c.list(context.WithoutCancel(ctx), col)
	c.mu.Lock()
	defer c.mu.Unlock()
	l.rows, l.err, l.at = rows, err, c.now()
	close(l.done)
	if reads := c.collection(col); reads.listing == l && (err != nil || reads.generation != l.generation) {
		reads.listing = nil // failed, or a write happened meanwhile: not for later Reads
	}
}

// invalidate drops the collection's listing: this provider wrote to it.
func (c *listCache) invalidate(name string) {
	col := collectionOf(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	reads := c.collection(col)
	reads.generation++
	if reads.listing != nil {
		select {
		case <-reads.listing.done:
			reads.listing = nil
		default: // in flight: Reads already waiting take it; fill does not keep it
		}
	}
}

func (c *listCache) fresh(l *listing) bool {
	select {
	case <-l.done:
		return c.now().Sub(l.at) < listTTL
	default:
		return true // in flight
	}
}

func (c *listCache) collection(col string) *collectionReads {
	reads, ok := c.byCol[col]
	if !ok {
		reads = &collectionReads{}
		c.byCol[col] = reads
	}
	return reads
}
