package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/informer"
)

// Kinds of the objects a pod refers to, as the kubelet names them in its messages.
const (
	kindConfigMap = "configmap"
	kindSecret    = "secret"
)

// objectRef names a ConfigMap or Secret that a pod uses.
type objectRef struct {
	kind, namespace, name string
}

// notFoundError says that an object a pod refers to does not exist, in the kubelet's words
// (`configmap "x" not found`).
type notFoundError struct{ ref objectRef }

func (e *notFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.ref.kind, e.ref.name) }

// isNotFound reports whether err says that a referenced object does not exist.
func isNotFound(err error) bool {
	var nf *notFoundError
	return errors.As(err, &nf)
}

// configObjects is the runner's watch-based manager of the ConfigMaps and Secrets of its pods,
// as the kubelet's: each object that a worker of this node uses is watched on its own (a list and
// watch of its namespace with fieldSelector metadata.name=NAME, kept by an informer) while at
// least one worker uses it, and the watch is dropped when the last one goes. An object seen
// immutable is no longer watched: it can only be deleted, and the pods that use it keep what
// they got. Each change of a watched object is posted to the workers that use it.
type configObjects struct {
	ctx         context.Context // the runner's: the watches end with it
	configMaps  func() *client.Resource[*api.ConfigMap]
	secrets     func() *client.Resource[*api.Secret]
	syncTimeout time.Duration

	mu    sync.Mutex
	items map[objectRef]*watchedObject
	wg    sync.WaitGroup // the watches
}

// watchedObject is one object's watch and the workers that use it.
type watchedObject struct {
	users  map[*worker]struct{}
	cancel context.CancelFunc // ends the watch
	synced func(context.Context) bool
	get    func() (api.Object, bool)
	// immutable: the object was seen immutable and is no longer watched; guarded by mu.
	immutable bool
}

func newConfigObjects(ctx context.Context, c *client.Client) *configObjects {
	return &configObjects{ctx: ctx, syncTimeout: 10 * time.Second, items: map[objectRef]*watchedObject{},
		configMaps: sync.OnceValue(func() *client.Resource[*api.ConfigMap] {
			return client.For[*api.ConfigMap](c, "configmaps")
		}),
		secrets: sync.OnceValue(func() *client.Resource[*api.Secret] {
			return client.For[*api.Secret](c, "secrets")
		}),
	}
}

// register records that w uses refs, starting a watch of each object no other worker uses.
func (m *configObjects) register(w *worker, refs []objectRef) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ref := range refs {
		item := m.items[ref]
		if item == nil {
			item = &watchedObject{users: map[*worker]struct{}{}}
			switch ref.kind {
			case kindConfigMap:
				watchObject(m, m.configMaps(), ref, item)
			case kindSecret:
				watchObject(m, m.secrets(), ref, item)
			}
			m.items[ref] = item
		}
		item.users[w] = struct{}{}
	}
}

// unregister records that w no longer uses refs, dropping the watches nobody needs.
func (m *configObjects) unregister(w *worker, refs []objectRef) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ref := range refs {
		item := m.items[ref]
		if item == nil {
			continue
		}
		delete(item.users, w)
		if len(item.users) == 0 {
			item.cancel()
			delete(m.items, ref)
		}
	}
}

// watchObject starts item's watch of the object ref names.
func watchObject[T api.Object](m *configObjects, res *client.Resource[T], ref objectRef, item *watchedObject) {
	inf := informer.New(res.Namespace(ref.namespace), client.ListOptions{FieldSelector: "metadata.name=" + ref.name}, nil)
	changed := func() { m.changed(ref) }
	inf.AddHandler(informer.Handler[T]{OnAdd: func(T) { changed() }, OnUpdate: func(_, _ T) { changed() },
		OnDelete: func(T) { changed() }})
	ctx, cancel := context.WithCancel(m.ctx)
	item.cancel = cancel
	item.synced = inf.WaitForSync
	item.get = func() (api.Object, bool) {
		obj, ok := inf.Get(ref.namespace, ref.name)
		if !ok {
			return nil, false
		}
		return obj, true
	}
	m.wg.Go(func() { _ = inf.Run(ctx) })
}

// changed posts a change of ref to the workers that use it.
func (m *configObjects) changed(ref objectRef) {
	m.mu.Lock()
	item := m.items[ref]
	var users []*worker
	if item != nil {
		for w := range item.users {
			users = append(users, w)
		}
	}
	m.mu.Unlock()
	for _, w := range users {
		w.post(func() { w.configChanged(ref) })
	}
}

// get returns the object ref names as last seen, waiting (up to syncTimeout, or ctx) for its
// watch's first list; a *notFoundError if it does not exist. The caller must have registered
// ref. The object is shared and must not be changed.
func (m *configObjects) get(ctx context.Context, ref objectRef) (api.Object, error) {
	m.mu.Lock()
	item := m.items[ref]
	m.mu.Unlock()
	if item == nil {
		return nil, fmt.Errorf("%s %s/%s is not registered by the pod", ref.kind, ref.namespace, ref.name)
	}
	wctx, cancel := context.WithTimeout(ctx, m.syncTimeout)
	defer cancel()
	if !item.synced(wctx) {
		return nil, fmt.Errorf("failed to sync %s cache: timed out waiting for the condition", ref.kind)
	}
	obj, ok := item.get()
	if !ok {
		return nil, &notFoundError{ref: ref}
	}
	if immutable(obj) {
		m.mu.Lock()
		if !item.immutable {
			item.immutable = true
			item.cancel() // nothing can change but its deletion: stop watching, keep the cache
		}
		m.mu.Unlock()
	}
	return obj, nil
}

func immutable(obj api.Object) bool {
	switch o := obj.(type) {
	case *api.ConfigMap:
		return o.Immutable != nil && *o.Immutable
	case *api.Secret:
		return o.Immutable != nil && *o.Immutable
	}
	return false
}

// wait waits for every watch to end; the runner's context must have ended.
func (m *configObjects) wait() { m.wg.Wait() }

// podRefs returns the ConfigMaps and Secrets p's containers and volumes use, each once.
func podRefs(p *api.Pod) []objectRef {
	var refs []objectRef
	seen := map[objectRef]bool{}
	add := func(kind, name string) {
		ref := objectRef{kind: kind, namespace: p.Namespace, name: name}
		if name != "" && !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
	}
	for _, c := range p.Spec.Containers {
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				add(kindConfigMap, ef.ConfigMapRef.Name)
			}
			if ef.SecretRef != nil {
				add(kindSecret, ef.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				add(kindConfigMap, r.Name)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				add(kindSecret, r.Name)
			}
		}
	}
	for _, v := range p.Spec.Volumes {
		if v.ConfigMap != nil {
			add(kindConfigMap, v.ConfigMap.Name)
		}
		if v.Secret != nil {
			add(kindSecret, v.Secret.SecretName)
		}
	}
	return refs
}
