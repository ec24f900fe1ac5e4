package patch

// changedFields returns the fields of a whose values differ in b or are
// missing from b; with b nil, all the fields of a. With strict, a keyed list
// element without its merge key, or two with the same key, is an error;
// otherwise such elements are skipped.
func changedFields(a map[string]any, b any, sn *schemaNode, strict bool) (*fieldSet, error) {
	var bv any
	if bm, ok := b.(map[string]any); ok && bm != nil {
		bv = bm
	}
	s, err := fieldWalker{strict: strict}.object(a, bv, sn, nil, make(trail, 0, 32))
	if err != nil {
		return nil, err
	}
	if s == nil {
		s = &fieldSet{}
	}
	return s, nil
}

// goneFields returns the fields of a that b does not have at all.
func goneFields(a, b map[string]any, sn *schemaNode) *fieldSet {
	var bv any
	if b != nil {
		bv = b
	}
	s, _ := fieldWalker{gone: true}.object(a, bv, sn, nil, make(trail, 0, 32))
	if s == nil {
		s = &fieldSet{}
	}
	return s
}

// fieldWalker walks a value a beside b (nil where b lacks it) and returns the
// fields of a that changed: whose value differs (or, with gone, that b does
// not have). Keyed list elements missing from b are marked as a whole. It
// returns nil for nothing, so unchanged fields cost no allocation.
type fieldWalker struct {
	gone   bool
	strict bool
}

// object adds a's changed fields to node (allocating it when needed) and
// returns node.
func (w fieldWalker) object(a map[string]any, b any, sn *schemaNode, node *fieldSet, at trail) (*fieldSet, error) {
	bm, _ := b.(map[string]any)
	for k, av := range a {
		if av == nil {
			continue
		}
		var bv any
		if bm != nil {
			bv = bm[k]
		}
		c, err := w.value(av, bv, sn.child(k), at.field(k))
		if err != nil {
			return nil, err
		}
		if c != nil {
			if node == nil {
				node = &fieldSet{}
			}
			node.attach("f:"+k, c)
		}
	}
	return node, nil
}

func (w fieldWalker) leaf(changed bool) *fieldSet {
	if !changed {
		return nil
	}
	return &fieldSet{self: true}
}

func (w fieldWalker) value(a, b any, sn *schemaNode, at trail) (*fieldSet, error) {
	switch x := a.(type) {
	case map[string]any:
		if len(x) == 0 {
			_, isMap := b.(map[string]any)
			return w.leaf(b == nil || (!w.gone && !isMap)), nil
		}
		return w.object(x, b, sn, nil, at)
	case []any:
		bl, isList := b.([]any)
		if len(x) == 0 && (sn.keyed() || sn.set()) {
			return w.leaf(b == nil || (!w.gone && !isList)), nil
		}
		switch {
		case sn.keyed():
			return w.keyedList(x, bl, sn, at)
		case sn.set():
			have := make(map[string]bool, len(bl))
			for _, e := range bl {
				have[canonicalKey(e)] = true
			}
			var node *fieldSet
			for _, e := range x {
				if e != nil && !have[canonicalKey(e)] {
					if node == nil {
						node = &fieldSet{}
					}
					node.ensure(valueElement(e)).self = true
				}
			}
			return node, nil
		}
	}
	if w.gone {
		return w.leaf(b == nil), nil
	}
	return w.leaf(!valueEqual(a, b)), nil
}

func (w fieldWalker) keyedList(a, b []any, sn *schemaNode, at trail) (*fieldSet, error) {
	key := sn.mergeKey
	var byKey map[string]any
	if len(b) > 0 {
		byKey = make(map[string]any, len(b))
		for _, e := range b {
			if k, ok := elementKey(e, key); ok {
				if _, dup := byKey[k]; !dup {
					byKey[k] = e
				}
			}
		}
	}
	var seen map[string]bool
	if w.strict {
		seen = make(map[string]bool, len(a))
	}
	var node *fieldSet
	for i, e := range a {
		m, ok := e.(map[string]any)
		kv, hasKey := m[key]
		if !ok || !hasKey || kv == nil {
			if w.strict {
				return nil, invalidf(at.index(i), "element of a list merged by %q has no %q", key, key)
			}
			continue
		}
		ck := canonicalKey(kv)
		if w.strict {
			if seen[ck] {
				return nil, invalidf(at.index(i), "duplicate element with %s=%v", key, kv)
			}
			seen[ck] = true
		}
		var c *fieldSet
		bItem, found := byKey[ck]
		if !found {
			c, bItem = &fieldSet{self: true}, nil
		}
		c, err := w.object(m, bItem, sn, c, at.index(i))
		if err != nil {
			return nil, err
		}
		if c != nil {
			if node == nil {
				node = &fieldSet{}
			}
			node.attach(keyElement(key, kv), c)
		}
	}
	return node, nil
}
