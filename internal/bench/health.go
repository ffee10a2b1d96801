package bench

import "context"

// health sends GET sys/health: no token, no storage, no ACL — the cost of
// an HTTP round trip through the server, against which -compare-health
// sets the other workloads.
type health struct {
	c   *Client
	req *Request
}

func (w *health) Name() string { return "health" }

func (w *health) Setup(_ context.Context, env *Env) error {
	w.c = env.Client.WithToken("")
	w.req = w.c.Prepare("GET", "sys/health", nil)
	return nil
}

func (w *health) Do(ctx context.Context, _ int) (int, error) { return w.c.Send(ctx, w.req) }

func (w *health) Teardown(context.Context, *Env) error { return nil }
