package hollow

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
)

// Hollow addresses are all on loopback, so nothing a hollow node reports can ever reach another
// machine: node i is 127.1.0.0 + i + 1 (127.1.0.1 ... 127.1.255.254), and pods take the first
// free address from 127.2.0.1 up to 127.255.255.254. Real runners use 127.0.0.x on one machine
// (see DESIGN), so the three ranges never meet.
const (
	nodeBase  = 0x7f010000 // 127.1.0.0
	podFirst  = 0x7f020001 // 127.2.0.1
	podLast   = 0x7ffffffe // 127.255.255.254
	podSpan   = podLast - podFirst + 1
	nodeLimit = 0xfffe // nodes that fit in 127.1.0.1 ... 127.1.255.254
)

// MaxNodes is the most hollow nodes one Runner can run, bounded by its address range.
const MaxNodes = nodeLimit

// ErrNoPodAddress is returned when every pod address is taken.
var ErrNoPodAddress = errors.New("no free pod address in 127.2.0.1-127.255.255.254")

// NodeAddress returns the InternalIP of hollow node i (0 <= i < MaxNodes).
func NodeAddress(i int) netip.Addr { return addrOf(uint32(nodeBase + i + 1)) }

func addrOf(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// podAddresses hands out pod IPs. It learns the addresses pods already hold from the pod
// informer (every bound pod of the cluster, so several hollow processes rarely collide and a
// restarted one never reuses an address still in use) and gives each new pod the next free
// one. It is safe for concurrent use.
type podAddresses struct {
	mu     sync.Mutex
	byAddr map[uint32]string // address -> pod key
	byKey  map[string]uint32
	next   uint32 // offset from podFirst where the search for a free address starts
}

func newPodAddresses() *podAddresses {
	return &podAddresses{byAddr: map[uint32]string{}, byKey: map[string]uint32{}}
}

// inRange parses ip and reports whether it is a pod address.
func inRange(ip string) (uint32, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return 0, false
	}
	b := a.As4()
	v := binary.BigEndian.Uint32(b[:])
	return v, v >= podFirst && v <= podLast
}

// observe records that the pod key holds ip (ignored when ip is not a pod address).
func (p *podAddresses) observe(key, ip string) {
	v, ok := inRange(ip)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, had := p.byKey[key]; had {
		if old == v {
			return
		}
		if p.byAddr[old] == key {
			delete(p.byAddr, old)
		}
	}
	p.byKey[key] = v
	if _, taken := p.byAddr[v]; !taken {
		p.byAddr[v] = key
	}
}

// assign returns the address of pod key: the one it was given or seen with before, else the
// next free one, which is then reserved for it until release.
func (p *podAddresses) assign(key string) (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.byKey[key]; ok {
		return addrOf(v), nil
	}
	if len(p.byAddr) >= podSpan {
		return netip.Addr{}, ErrNoPodAddress
	}
	for range podSpan {
		v := podFirst + p.next
		p.next = (p.next + 1) % podSpan
		if _, taken := p.byAddr[v]; !taken {
			p.byAddr[v] = key
			p.byKey[key] = v
			return addrOf(v), nil
		}
	}
	return netip.Addr{}, ErrNoPodAddress
}

// release frees the address of pod key, if it has one.
func (p *podAddresses) release(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.byKey[key]
	if !ok {
		return
	}
	delete(p.byKey, key)
	if p.byAddr[v] == key {
		delete(p.byAddr, v)
	}
}

// len returns how many addresses are held.
func (p *podAddresses) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byAddr)
}
