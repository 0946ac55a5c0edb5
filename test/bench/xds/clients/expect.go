package main

import (
	"bytes"
	"fmt"

	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"vireo.invalid/bench/xds/internal/dump"
)

// expected is one subscribed resource of a variant, recognised in a response by its bytes: as
// the dump has them (a server that sends what it was given) or as Go re-marshals them
// deterministically (go-control-plane). Anything else is decoded and compared as a message.
type expected struct {
	key   string // typeURL + "\x00" + name
	raw   []byte
	canon []byte
	msg   proto.Message
}

// variantIndex finds a variant's subscribed resources by type and encoded length.
type variantIndex struct {
	byLen map[string]map[int][]*expected
	byKey map[string]*expected
}

func resourceKey(typeURL, name string) string { return typeURL + "\x00" + name }

func indexVariant(v *dump.Variant, sub *subscription) (*variantIndex, error) {
	idx := &variantIndex{byLen: map[string]map[int][]*expected{}, byKey: map[string]*expected{}}
	for _, r := range v.Resources {
		if !sub.wants(r.TypeURL, r.Name) {
			continue
		}
		m, err := dump.Decode(r)
		if err != nil {
			return nil, err
		}
		canon, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			return nil, err
		}
		e := &expected{key: resourceKey(r.TypeURL, r.Name), raw: r.Value, canon: canon, msg: m}
		idx.byKey[e.key] = e
		byLen := idx.byLen[r.TypeURL]
		if byLen == nil {
			byLen = map[int][]*expected{}
			idx.byLen[r.TypeURL] = byLen
		}
		byLen[len(e.raw)] = append(byLen[len(e.raw)], e)
		if !bytes.Equal(e.raw, e.canon) {
			byLen[len(e.canon)] = append(byLen[len(e.canon)], e)
		}
	}
	return idx, nil
}

// match returns the expected resource a received one is, and whether it matched by bytes; nil
// if it is none of this variant's (e.g. an older version of a resource).
func (idx *variantIndex) match(typeURL string, a *anypb.Any) (*expected, bool, error) {
	for _, e := range idx.byLen[typeURL][len(a.GetValue())] {
		if bytes.Equal(a.GetValue(), e.raw) || bytes.Equal(a.GetValue(), e.canon) {
			return e, true, nil
		}
	}
	m, err := dump.Decode(dump.Resource{TypeURL: typeURL, Name: "(received)", Value: a.GetValue()})
	if err != nil {
		return nil, false, err
	}
	e := idx.byKey[resourceKey(typeURL, cache.GetResourceName(m))]
	if e != nil && proto.Equal(m, e.msg) {
		return e, false, nil
	}
	return nil, false, nil
}

// changed lists the keys of subscribed resources whose bytes differ between two variants.
func changed(from, to *variantIndex) (map[string]bool, error) {
	out := map[string]bool{}
	for k, e := range to.byKey {
		old := from.byKey[k]
		if old == nil {
			return nil, fmt.Errorf("resource %q added between variants; the benchmark expects weight changes only", k)
		}
		if !bytes.Equal(old.raw, e.raw) {
			out[k] = true
		}
	}
	if len(from.byKey) != len(to.byKey) {
		return nil, fmt.Errorf("variants subscribe %d and %d resources", len(from.byKey), len(to.byKey))
	}
	return out, nil
}
