package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// door is one front door: a TCP listener serving HTTP/1.1 and cleartext HTTP/2 and a UDP
// socket serving HTTP/3, on the same address, for one port of one Service.
type door struct {
	addr  string
	owner *entry
	port  atomic.Int64 // the Service port it serves
	tcp   net.Listener
	udp   net.PacketConn
	h1    *http.Server
	h3    *http3.Server
}

// syncDoors makes e own exactly the doors in want (address -> Service port): it closes those
// no longer wanted and opens the missing ones. A door that cannot be opened (address taken,
// not local) is logged and tried again on the Service's next change.
func (p *Proxy) syncDoors(e *entry, want map[string]int) {
	for addr, d := range e.doors {
		if _, ok := want[addr]; !ok {
			d.close()
			delete(e.doors, addr)
			delete(p.doors, addr)
		}
	}
	if p.stopped {
		return
	}
	for addr, port := range want {
		if d := e.doors[addr]; d != nil {
			d.port.Store(int64(port))
			continue
		}
		if other := p.doors[addr]; other != nil {
			p.cfg.Logger.Warn("proxy: front door address is taken by another service",
				"service", e.key, "addr", addr, "taken_by", other.owner.key)
			continue
		}
		d, err := p.openDoor(e, addr, port)
		if err != nil {
			p.cfg.Logger.Warn("proxy: open front door", "service", e.key, "addr", addr, "err", err)
			continue
		}
		e.doors[addr] = d
		p.doors[addr] = d
	}
}

// openDoor listens on addr (TCP and UDP) and starts serving. Addresses other than the node's
// own are load balancer addresses, which several runners of one machine may share: those are
// bound with SO_REUSEPORT.
func (p *Proxy) openDoor(e *entry, addr string, port int) (*door, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("front door %s: %w", addr, err)
	}
	shared := host != p.cfg.NodeIP
	lc := listenConfig(shared)
	ctx := context.Background()
	tcp, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("front door %s: listen tcp: %w", addr, err)
	}
	udp, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		tcp.Close()
		return nil, fmt.Errorf("front door %s: listen udp: %w", addr, err)
	}
	d := &door{addr: addr, owner: e, tcp: tcp, udp: udp}
	d.port.Store(int64(port))
	altSvc := `h3=":` + portStr + `"; ma=86400`
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	d.h1 = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Alt-Svc", altSvc)
			p.serveDoor(d, w, r)
		}),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.cfg.Logger.Handler(), slog.LevelWarn),
	}
	d.h3 = &http3.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serveDoor(d, w, r) }),
		TLSConfig: http3.ConfigureTLSConfig(p.h3TLS),
		Logger:    p.cfg.Logger,
	}
	p.wg.Go(func() {
		if err := d.h1.Serve(tcp); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.cfg.Logger.Warn("proxy: front door stopped", "addr", addr, "proto", "tcp", "err", err)
		}
	})
	p.wg.Go(func() {
		if err := d.h3.Serve(udp); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			p.cfg.Logger.Warn("proxy: front door stopped", "addr", addr, "proto", "udp", "err", err)
		}
	})
	p.cfg.Logger.Info("proxy: front door open", "service", e.key, "addr", addr, "port", port)
	return d, nil
}

// serveDoor serves a request that came in by d.
func (p *Proxy) serveDoor(d *door, w http.ResponseWriter, r *http.Request) {
	r0 := d.owner.route.Load()
	port := int(d.port.Load())
	rp := r0.byPort(port)
	if rp == nil {
		http.Error(w, "service "+d.owner.key+" has no port "+strconv.Itoa(port)+" any more", http.StatusServiceUnavailable)
		return
	}
	p.serve(rp, w, r)
}

// close stops serving d's address: listeners and connections are closed at once.
func (d *door) close() {
	d.h1.Close()
	d.h3.Close()
	d.udp.Close()
}
