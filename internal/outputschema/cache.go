package outputschema

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"sync"
)

// DefaultCacheSize is the size of a Cache made with NewCache(0).
const DefaultCacheSize = 256

// Cache holds the compiled schemas most recently asked for, so that a
// schema is compiled once per version rather than once per turn. It is
// keyed by the SHA-256 of the schema's bytes with insignificant white space
// removed (so the same schema stored as json or as PostgreSQL jsonb, which
// adds spaces, is one entry), holds at most its size and evicts the least
// recently used. A Cache is safe for concurrent use, and concurrent Gets of
// a schema not yet compiled compile it once.
//
// Refused schemas are not cached: they are refused when a worker is
// created, so they rarely reach a turn.
type Cache struct {
	mu       sync.Mutex
	max      int
	lru      *list.List // of *cacheEntry, most recent first
	entries  map[[sha256.Size]byte]*list.Element
	inflight map[[sha256.Size]byte]*call
	compile  func([]byte) (*Schema, error) // Compile; tests count calls
}

type cacheEntry struct {
	key    [sha256.Size]byte
	schema *Schema
}

// call is one compilation other Gets of the same schema wait for.
type call struct {
	done   chan struct{}
	schema *Schema
	err    error
}

// NewCache returns a cache of at most max schemas; max <= 0 means
// DefaultCacheSize.
func NewCache(max int) *Cache {
	if max <= 0 {
		max = DefaultCacheSize
	}
	return &Cache{
		max:      max,
		lru:      list.New(),
		entries:  map[[sha256.Size]byte]*list.Element{},
		inflight: map[[sha256.Size]byte]*call{},
		compile:  Compile,
	}
}

// Get returns the compiled schema of raw, compiling it when it is not
// cached; while a schema stays cached, every Get of it returns the same
// *Schema. The error is Compile's (a *SchemaError).
func (c *Cache) Get(raw []byte) (*Schema, error) {
	if len(raw) > MaxSchemaBytes {
		return Compile(raw) // refused without hashing it
	}
	key := cacheKey(raw)

	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		s := el.Value.(*cacheEntry).schema
		c.mu.Unlock()
		return s, nil
	}
	if cl, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		<-cl.done
		return cl.schema, cl.err
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[key] = cl
	c.mu.Unlock()

	c.finish(key, cl, raw)
	return cl.schema, cl.err
}

// finish compiles raw for the call cl and publishes the result, even when
// Compile panics, so that no Get waits forever.
func (c *Cache) finish(key [sha256.Size]byte, cl *call, raw []byte) {
	cl.err = errors.New("outputschema: compiling the schema panicked")
	defer func() {
		c.mu.Lock()
		delete(c.inflight, key)
		if cl.err == nil {
			c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, schema: cl.schema})
			for c.lru.Len() > c.max {
				oldest := c.lru.Back()
				c.lru.Remove(oldest)
				delete(c.entries, oldest.Value.(*cacheEntry).key)
			}
		}
		c.mu.Unlock()
		close(cl.done)
	}()
	cl.schema, cl.err = c.compile(raw)
}

// Len returns how many compiled schemas the cache holds.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// cacheKey hashes raw without its insignificant white space; raw that is
// not JSON is hashed as is (Compile refuses it anyway).
func cacheKey(raw []byte) [sha256.Size]byte {
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return sha256.Sum256(raw)
	}
	return sha256.Sum256(buf.Bytes())
}
