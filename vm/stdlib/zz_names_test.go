package stdlib
import ("testing";"strings";"fmt";"tova/vm")
func TestZZNames(t *testing.T) {
	var fns, vals []string
	for _, n := range vm.BuiltinNames() {
		if strings.HasPrefix(n, "__") { continue }
		v, _ := vm.LookupBuiltin(n)
		if v.Kind() == vm.KBuiltin { fns = append(fns, n) } else { vals = append(vals, n) }
	}
	fmt.Println(len(fns), strings.Join(fns, " "))
	fmt.Println(len(vals), strings.Join(vals, " "))
}
