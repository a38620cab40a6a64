package fastpath

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Tree routes request paths to the values filed under path templates such
// as /api/tasks/{taskId} and a method. It matches as kin-openapi's router
// does: segments are compared percent-decoded, a literal segment wins over
// a templated one, and among templated ones the longest literal prefix and
// suffix ("{name}.json" before "{name}") are tried first. A lookup costs
// one walk down the tree and no allocation for up to eight parameters.
// The zero Tree is empty and ready to use; Add must not run concurrently
// with Find.
type Tree[V any] struct {
	root node[V]
}

// node is one path segment of the tree.
type node[V any] struct {
	static map[string]*node[V] // by percent-decoded segment
	params []*paramEdge[V]     // most specific first
	values map[string]V        // by method
}

// paramEdge leads through a templated segment: a literal prefix, one
// parameter, a literal suffix ("{taskId}", "{name}.json").
type paramEdge[V any] struct {
	prefix, suffix string
	next           *node[V]
}

// maxParams is the number of path parameter values Find keeps on the stack.
const maxParams = 8

// Add files v under the template path and method, and returns the names of
// the template's parameters in order. A template must start with / and
// hold at most one {parameter} per segment.
func (t *Tree[V]) Add(path, method string, v V) ([]string, error) {
	n, names, err := t.root.add(path)
	if err != nil {
		return nil, err
	}
	if n.values == nil {
		n.values = map[string]V{}
	}
	n.values[method] = v
	return names, nil
}

// Find returns the value filed for the request's method and path, the
// values of the template's parameters (percent-decoded), and whether there
// was one.
func (t *Tree[V]) Find(method string, u *url.URL) (V, []string, bool) {
	p := u.EscapedPath()
	if len(p) == 0 || p[0] != '/' {
		var zero V
		return zero, nil, false
	}
	var stack [maxParams]string
	return t.root.find(method, p[1:], stack[:0])
}

func (n *node[V]) find(method, rest string, vals []string) (V, []string, bool) {
	seg, tail, more := strings.Cut(rest, "/")
	if strings.IndexByte(seg, '%') >= 0 {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			var zero V
			return zero, nil, false
		}
		seg = dec
	}
	if child := n.static[seg]; child != nil {
		if v, vs, ok := child.end(method, tail, more, vals); ok {
			return v, vs, true
		}
	}
	for _, e := range n.params {
		if len(seg) <= len(e.prefix)+len(e.suffix) ||
			!strings.HasPrefix(seg, e.prefix) || !strings.HasSuffix(seg, e.suffix) {
			continue
		}
		vs := append(vals, seg[len(e.prefix):len(seg)-len(e.suffix)])
		if v, vs, ok := e.next.end(method, tail, more, vs); ok {
			return v, vs, true
		}
	}
	var zero V
	return zero, nil, false
}

// Methods returns the methods filed under every template that matches the
// request's path, sorted; none when no template matches it. It is for the
// answer to a method the path does not have (405 and its Allow header), so
// it does not avoid allocating.
func (t *Tree[V]) Methods(u *url.URL) []string {
	p := u.EscapedPath()
	if len(p) == 0 || p[0] != '/' {
		return nil
	}
	set := map[string]bool{}
	t.root.methods(p[1:], set)
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

func (n *node[V]) methods(rest string, set map[string]bool) {
	seg, tail, more := strings.Cut(rest, "/")
	if strings.IndexByte(seg, '%') >= 0 {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			return
		}
		seg = dec
	}
	visit := func(next *node[V]) {
		if more {
			next.methods(tail, set)
			return
		}
		for m := range next.values {
			set[m] = true
		}
	}
	if child := n.static[seg]; child != nil {
		visit(child)
	}
	for _, e := range n.params {
		if len(seg) > len(e.prefix)+len(e.suffix) && strings.HasPrefix(seg, e.prefix) && strings.HasSuffix(seg, e.suffix) {
			visit(e.next)
		}
	}
}

// end continues the search in n, or ends it there when no segment is left.
func (n *node[V]) end(method, tail string, more bool, vals []string) (V, []string, bool) {
	if more {
		return n.find(method, tail, vals)
	}
	v, ok := n.values[method]
	return v, vals, ok
}

// add adds the nodes of a path template and returns its last node and the
// names of its parameters.
func (n *node[V]) add(path string) (*node[V], []string, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, nil, fmt.Errorf("path %q does not start with /", path)
	}
	var names []string
	for seg := range strings.SplitSeq(path[1:], "/") {
		open := strings.IndexByte(seg, '{')
		if open < 0 {
			if strings.IndexByte(seg, '}') >= 0 {
				return nil, nil, fmt.Errorf("path %q: unbalanced brace in %q", path, seg)
			}
			if n.static == nil {
				n.static = map[string]*node[V]{}
			}
			child := n.static[seg]
			if child == nil {
				child = &node[V]{}
				n.static[seg] = child
			}
			n = child
			continue
		}
		end := strings.IndexByte(seg, '}')
		if end < open+2 || strings.ContainsAny(seg[end+1:], "{}") || strings.IndexByte(seg[:open], '}') >= 0 {
			return nil, nil, fmt.Errorf("path %q: segment %q needs exactly one {parameter}", path, seg)
		}
		names = append(names, seg[open+1:end])
		prefix, suffix := seg[:open], seg[end+1:]
		var edge *paramEdge[V]
		for _, e := range n.params {
			if e.prefix == prefix && e.suffix == suffix {
				edge = e
				break
			}
		}
		if edge == nil {
			edge = &paramEdge[V]{prefix: prefix, suffix: suffix, next: &node[V]{}}
			n.params = append(n.params, edge)
			// The longest literals are the most specific: try them first.
			slices.SortStableFunc(n.params, func(a, b *paramEdge[V]) int {
				return cmp.Compare(len(b.prefix)+len(b.suffix), len(a.prefix)+len(a.suffix))
			})
		}
		n = edge.next
	}
	return n, names, nil
}

// ParamNames returns the names of the parameters of the template path, in
// order, as Add would.
func ParamNames(path string) ([]string, error) {
	_, names, err := new(node[struct{}]).add(path)
	return names, err
}
