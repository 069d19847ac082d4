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
	return netio.JSON(200, []byte(helloBody))
}

// NetioHello starts, on 127.0.0.1, what `tova serve` runs for a program
// with one route (GET / and /json answering the baseline's JSON), minus
// the VM: an
// actors System, a handler Pool and a netio Server whose access log is
// encoded and discarded. It returns the server (its URL and Handler) and a
// stop function.
func NetioHello() (*netio.Server, func(), error) {
	sys := actors.NewSystem(actors.Options{Name: "httpbench"})
	pool, err := sys.StartPool(actors.PoolOptions{Name: "handlers"})
	if err != nil {
		return nil, nil, err
	}
	hello := HelloResponse()
	r := netio.NewRouter()
	for _, path := range []string{"/", "/json"} {
		if err := r.Handle("GET", path, func(context.Context, *netio.Request) *netio.Response { return hello }); err != nil {
			return nil, nil, err
		}
	}
	srv, err := netio.NewServer(netio.Config{
		Name:      "hello",
		Addr:      "127.0.0.1:0",
		Router:    r,
		Pool:      pool,
		Logger:    zerolog.New(io.Discard),
		AccessLog: io.Discard,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = sys.Stop(ctx)
	}
	return srv, stop, nil
}
