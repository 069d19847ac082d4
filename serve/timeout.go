package serve

import (
	"fmt"
	"time"

	"tova/vm"
)

func init() {
	vm.Register(&vm.Builtin{Name: "timeout", Params: []string{"ms"}, Fn: builtinTimeout})
}

// routeTimeout is the value of timeout(ms), the reference's route
// decorator `with timeout(100)`: no guard but the route's own deadline,
// which buildRoutes takes out of the route's guards (netio.Route.Timeout).
type routeTimeout struct{ d time.Duration }

func (*routeTimeout) TypeName() string { return "RouteTimeout" }

func (t *routeTimeout) String() string { return fmt.Sprintf("timeout(%v)", t.d) }

func (*routeTimeout) GetAttr(*vm.Thread, string) (vm.Value, bool, error) {
	return vm.Nil, false, nil
}

func (*routeTimeout) SetAttr(*vm.Thread, string, vm.Value) error {
	return vm.TypeErrorf("a route timeout has no fields to set")
}

// builtinTimeout reads timeout(ms): a Duration, or milliseconds as in
// the reference.
func builtinTimeout(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) == 2 {
		// the reference's timeout(promise, ms)
		return vm.Nil, vm.TypeErrorf("timeout(ms) is a route's deadline (route ... with timeout(5.seconds)); there is no timeout(promise, ms): a call returns its value, not a promise, and a request's deadline (limits { timeout }, or a route's with timeout) bounds the code instead")
	}
	if len(args) != 1 {
		return vm.Nil, vm.TypeErrorf("timeout(ms) takes 1 argument, got %d", len(args))
	}
	d, err := duration(args[0], time.Millisecond)
	if err == nil && d <= 0 {
		err = fmt.Errorf("a route deadline must be positive, got %s", vm.Repr(args[0]))
	}
	if err != nil {
		return vm.Nil, vm.Errorf("ValueError", "timeout: %v", err)
	}
	return vm.HostValue(&routeTimeout{d}), nil
}
