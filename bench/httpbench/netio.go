package httpbench

import (
	"context"
	"io"
	"time"

	"github.com/rs/zerolog"

	"tova/actors"
	"tova/netio"
)

// HelloResponse is the netio answer equal to the baseline's.
func HelloResponse() *netio.Response {
	r := netio.JSON(200, []byte(HelloBody))
	r.RequestFree = true // it keeps nothing of the request, as tova serve's hello handler keeps nothing
	return r
}

// NetioOptions configure NewNetioHello.
type NetioOptions struct {
	// Addr is the listen address (default "127.0.0.1:0").
	Addr string
	// Inline runs the handler on the connection's goroutine instead of
	// the pool (netio.Config.Inline): what the front end costs without
	// the hand-off.
	Inline bool
	// NoDirect makes the pool hand every request to its worker's
	// goroutine through a channel (actors.PoolOptions.NoDirect), as it
	// did before callers ran requests on the workers' coroutines.
	NoDirect bool
	// Log receives the server's records and its access lines, encoded as
	// tova serve writes them (default: discarded).
	Log io.Writer
}

// NewNetioHello makes, unstarted, what `tova serve` runs for a program
// with one route (GET / and /json answering the baseline's JSON), minus
// the VM: an actors System, a handler Pool and a netio Server. stop shuts
// the server down and stops the actors; it returns the shutdown's error.
func NewNetioHello(o NetioOptions) (srv *netio.Server, stop func() error, err error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	sys := actors.NewSystem(actors.Options{Name: "httpbench"})
	stopSys := func() { _ = sys.Stop(context.Background()) }
	pool, err := sys.StartPool(actors.PoolOptions{Name: "handlers", NoDirect: o.NoDirect})
	if err != nil {
		stopSys()
		return nil, nil, err
	}
	hello := HelloResponse()
	r := netio.NewRouter()
	// (every path, as the bare handler answers: a --path other than
	// /json measures the same answer)
	for _, path := range []string{"/", "/json", "/*"} {
		if err := r.Handle("GET", path, func(context.Context, *netio.Request) *netio.Response { return hello }); err != nil {
			stopSys()
			return nil, nil, err
		}
	}
	srv, err = netio.NewServer(netio.Config{
		Name:      "hello",
		Addr:      o.Addr,
		Router:    r,
		Pool:      pool,
		Inline:    o.Inline,
		Logger:    zerolog.New(o.Log),
		AccessLog: o.Log,
		// as tova serve's servers
		SecurityHeaders: true,
	})
	if err != nil {
		stopSys()
		return nil, nil, err
	}
	stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		_ = sys.Stop(ctx)
		return err
	}
	return srv, stop, nil
}

// NetioHello starts NewNetioHello's server with the default options. It
// returns the server (its URL and Handler) and a stop function.
func NetioHello() (*netio.Server, func() error, error) {
	srv, stop, err := NewNetioHello(NetioOptions{})
	if err != nil {
		return nil, nil, err
	}
	if err := srv.Start(); err != nil {
		_ = stop()
		return nil, nil, err
	}
	return srv, stop, nil
}
