package store

import "tova/vm"

func init() {
	vm.Register(&vm.Builtin{Name: "__model", Fn: declareModel})
	vm.RegisterValue("db", vm.HostValue(Database{}))
}

// declareModel is __model(spec), which a `model` declaration compiles
// to. When the instance's database is already known (its db block has
// run, or there is none), the table is created or checked right away,
// so that a server whose database is unreachable or whose model no
// longer matches its table fails at startup; otherwise on first use.
func declareModel(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) != 1 {
		return vm.Nil, vm.TypeErrorf("__model takes one spec")
	}
	m, err := newModel(t.In.Prog, args[0])
	if err != nil {
		return vm.Nil, err
	}
	st := stateOf(t.In)
	m.st = st
	m.declared = t.StackTrace()
	st.addModel(m)
	if st.db.Load() == nil {
		if _, ready, err := configFor(t.In); err != nil || !ready {
			return vm.HostValue(m), err
		}
	}
	db, err := st.open(t)
	if err != nil {
		return vm.Nil, err
	}
	if _, err := m.tableIn(t, db); err != nil {
		return vm.Nil, err
	}
	return vm.HostValue(m), nil
}
