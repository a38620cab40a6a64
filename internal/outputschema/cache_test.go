package outputschema

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// countingCache is a cache whose compilations are counted.
func countingCache(max int) (*Cache, *atomic.Int64) {
	c := NewCache(max)
	var n atomic.Int64
	c.compile = func(raw []byte) (*Schema, error) {
		n.Add(1)
		return Compile(raw)
	}
	return c, &n
}

func schemaN(i int) []byte {
	return fmt.Appendf(nil, `{"type":"object","required":["p%d"],"properties":{"p%d":{"type":"integer"}}}`, i, i)
}

func TestCacheSameBytesSameSchema(t *testing.T) {
	t.Parallel()
	c, compiled := countingCache(8)
	a, err := c.Get([]byte(orderSchema))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Get([]byte(orderSchema))
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("two Gets of the same bytes returned different schemas")
	}
	// Only insignificant white space differs, as jsonb would store it.
	spaced, err := c.Get([]byte(`{"type": "object", "required": ["p1"], "properties": {"p1": {"type": "integer"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	compact, err := c.Get(schemaN(1))
	if err != nil {
		t.Fatal(err)
	}
	if spaced != compact {
		t.Error("white space made a second entry")
	}
	if compact == a {
		t.Error("different schemas share an entry")
	}
	if got := compiled.Load(); got != 2 {
		t.Errorf("compiled %d times, want 2", got)
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	c, compiled := countingCache(2)
	s0, _ := c.Get(schemaN(0))
	_, _ = c.Get(schemaN(1))
	_, _ = c.Get(schemaN(0)) // 0 is now the most recent
	_, _ = c.Get(schemaN(2)) // evicts 1
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
	if again, _ := c.Get(schemaN(0)); again != s0 {
		t.Error("the most recently used schema was evicted")
	}
	if got := compiled.Load(); got != 3 {
		t.Errorf("compiled %d times, want 3", got)
	}
	_, _ = c.Get(schemaN(1)) // compiled again
	if got := compiled.Load(); got != 4 {
		t.Errorf("compiled %d times, want 4 (1 was evicted)", got)
	}
}

func TestCacheDoesNotKeepErrors(t *testing.T) {
	t.Parallel()
	c, compiled := countingCache(0)
	for range 2 {
		if _, err := c.Get([]byte(`{"type":"array"}`)); !errors.Is(err, ErrInvalidSchema) {
			t.Fatalf("Get = %v, want ErrInvalidSchema", err)
		}
	}
	if _, err := c.Get(make([]byte, MaxSchemaBytes+1)); !errors.Is(err, ErrInvalidSchema) {
		t.Fatalf("Get of a too large schema = %v, want ErrInvalidSchema", err)
	}
	if c.Len() != 0 || compiled.Load() != 2 {
		t.Errorf("Len = %d, compiled %d times; want 0 and 2", c.Len(), compiled.Load())
	}
}

// Many goroutines asking for a few schemas compile each once, always get
// the same *Schema, and can use it concurrently (run with -race).
func TestCacheConcurrent(t *testing.T) {
	t.Parallel()
	c, compiled := countingCache(16)
	const schemas, workers = 4, 32
	var mu sync.Mutex
	seen := map[int]*Schema{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range 50 {
				k := (w + i) % schemas
				s, err := c.Get(schemaN(k))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, ok := seen[k]; ok && prev != s {
					t.Errorf("schema %d: two different *Schema", k)
				}
				seen[k] = s
				mu.Unlock()
				ex, err := s.Example()
				if err != nil {
					t.Error(err)
					return
				}
				ex["mutated"] = true // a copy: nobody else sees it
				if _, err := s.Validate(fmt.Sprintf(`{"p%d":%d}`, k, i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := compiled.Load(); got != schemas {
		t.Errorf("compiled %d times, want %d", got, schemas)
	}
	for k, s := range seen {
		ex, _ := s.Example()
		if _, ok := ex["mutated"]; ok || len(ex) != 1 {
			t.Errorf("schema %d: Example = %v, want a fresh copy", k, ex)
		}
	}
}

// BenchmarkCacheGet is what a turn pays to get its compiled schema.
func BenchmarkCacheGet(b *testing.B) {
	c := NewCache(0)
	raw := []byte(orderSchema)
	if _, err := c.Get(raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Get(raw); err != nil {
			b.Fatal(err)
		}
	}
}
