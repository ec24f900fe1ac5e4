package csr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
	"github.com/wasmkube/wasmkube/control/controller"
	"github.com/wasmkube/wasmkube/control/informer"
	"github.com/wasmkube/wasmkube/control/pki"
)

// resource is the plural name of CertificateSigningRequests.
const resource = "certificatesigningrequests"

// Config configures a Controller. Zero fields take the defaults in their comments.
type Config struct {
	// Client writes approvals and certificates. Required; its user must be allowed to.
	Client *client.Client
	// Informers are the shared caches; the controller reads CertificateSigningRequests from
	// Informers.Others["certificatesigningrequests"]. Required.
	Informers *controller.Informers
	// CA signs approved requests. Required (with its key).
	CA *pki.CA
	// Recorder receives an event for each denial and failure (none when nil).
	Recorder *client.Recorder
	// Workers is how many requests are handled in parallel (2).
	Workers int
	// Now is the clock for conditions and certificates (time.Now).
	Now func() time.Time
	// Logger receives errors (discarded when nil).
	Logger *slog.Logger
}

// Controller approves and signs runner certificate requests. Its queue keys are request names.
type Controller struct {
	cfg  Config
	ctrl *controller.Controller
	csrs *informer.Informer[api.Object]
}

// New builds the controller and registers its informer handler; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil || cfg.CA == nil || cfg.CA.Key == nil {
		return nil, errors.New("csr controller: Client, Informers and CA (with its key) are required")
	}
	csrs := cfg.Informers.Others[resource]
	if csrs == nil {
		return nil, errors.New("csr controller: the informers have no CertificateSigningRequest cache")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Controller{cfg: cfg, csrs: csrs}
	c.ctrl = controller.New(controller.Config{
		Name: Name, Reconciler: c, Workers: cfg.Workers, Logger: cfg.Logger,
		WaitFor: []controller.Syncer{csrs},
	})
	enqueue := func(o api.Object) {
		if r, ok := o.(*api.CertificateSigningRequest); ok && r.Spec.SignerName == SignerName {
			c.ctrl.Enqueue(informer.KeyOf(o))
		}
	}
	csrs.AddHandler(informer.Handler[api.Object]{
		OnAdd:    enqueue,
		OnUpdate: func(_, o api.Object) { enqueue(o) },
	})
	return c, nil
}

// Run handles requests until ctx ends and returns once every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.ctrl.Run(ctx) }

// Reconcile approves or denies one undecided request of SignerName, and signs it once approved.
// Requests of other signers, denied or failed ones, and ones with a certificate are left alone.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	obj, ok := c.csrs.Get("", key)
	if !ok {
		return nil
	}
	r, ok := obj.(*api.CertificateSigningRequest)
	if !ok || r.Spec.SignerName != SignerName || len(r.Status.Certificate) > 0 ||
		r.Status.HasCondition(api.CertificateDenied) || r.Status.HasCondition(api.CertificateFailed) {
		return nil
	}
	if !r.Status.HasCondition(api.CertificateApproved) {
		d := Review(r)
		cond := c.condition(api.CertificateApproved, ReasonAutoApproved, d.Message)
		if !d.Approve {
			cond = c.condition(api.CertificateDenied, ReasonAutoDenied, d.Message)
		}
		up := controller.Clone(r)
		up.Status.SetCondition(cond)
		stored, err := UpdateApproval(ctx, c.cfg.Client, up)
		if err != nil {
			return err
		}
		if !d.Approve {
			c.event(stored, api.EventWarning, ReasonAutoDenied, d.Message)
			return nil
		}
		r = stored
	}
	return c.sign(ctx, r)
}

// sign issues the certificate of an approved request, or marks it Failed when it cannot be.
func (c *Controller) sign(ctx context.Context, r *api.CertificateSigningRequest) error {
	up := controller.Clone(r)
	req, tmpl, err := Template(r)
	if err == nil {
		up.Status.Certificate, err = c.cfg.CA.Sign(req.PublicKey, tmpl, c.cfg.Now())
	}
	if err != nil {
		msg := fmt.Sprintf("cannot sign: %v", err)
		up.Status.Certificate = nil
		up.Status.SetCondition(c.condition(api.CertificateFailed, ReasonSigningFailed, msg))
		c.event(r, api.EventWarning, ReasonSigningFailed, msg)
	}
	if _, err := client.For[*api.CertificateSigningRequest](c.cfg.Client, resource).UpdateStatus(ctx, up); err != nil {
		return fmt.Errorf("write certificate of csr %s: %w", r.Name, err)
	}
	return nil
}

func (c *Controller) condition(typ, reason, msg string) api.CertificateSigningRequestCondition {
	now := api.NewTime(c.cfg.Now())
	return api.CertificateSigningRequestCondition{Type: typ, Status: api.ConditionTrue, Reason: reason, Message: msg,
		LastUpdateTime: now, LastTransitionTime: now}
}

func (c *Controller) event(r *api.CertificateSigningRequest, typ, reason, msg string) {
	if c.cfg.Recorder != nil {
		c.cfg.Recorder.Eventf(r, typ, reason, "%s", msg)
	}
}
