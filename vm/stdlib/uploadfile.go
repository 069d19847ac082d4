package stdlib

import "tova/vm"

// File is a file part of a multipart/form-data body, as serve gives it
// to Tova code: it reads, loops, spreads, compares, prints and encodes
// as the object { filename, content_type, size, content }, but it is a
// host value, which no JSON body can spell: save_file writes only
// these, so a request cannot skip the upload checks by sending
// { filename, content } as JSON.
type File struct {
	fields *vm.Object
	// named is the filename it came with, which the upload checks saw.
	named string
}

// SavedNameAllowed, when set (by a server), says whether save_file may
// give a file the name a program set (f.filename = name): the upload
// checks saw the one it came with.
var SavedNameAllowed func(t *vm.Thread, name string) error

// NewFile makes the file part named filename, of declared type
// contentType ("" when the part declares none), holding content.
func NewFile(filename, contentType, content string) vm.Value {
	o := vm.NewObject()
	o.Set("filename", vm.Str(filename))
	o.Set("content_type", vm.Str(contentType))
	o.Set("size", vm.Int(int64(len(content))))
	o.Set("content", vm.Str(content))
	return vm.HostValue(&File{fields: o, named: filename})
}

// AsFile returns the file part v is, or nil.
func AsFile(v vm.Value) *File {
	f, _ := v.AsHostOK().(*File)
	return f
}

// Fields is the file's object: its fields as Tova code sees them.
func (f *File) Fields() *vm.Object { return f.fields }

func (f *File) TypeName() string { return "File" }

// String prints the file as its object prints.
func (f *File) String() string { return vm.Repr(vm.ObjectValue(f.fields)) }

func (f *File) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	v, ok := f.fields.Get(name)
	return v, ok, nil
}

// SetAttr sets filename, content_type or content (size follows it),
// each a String: a handler may rename a file before save_file writes
// it. The file holds no other fields (nor itself).
func (f *File) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	switch name {
	case "filename", "content_type", "content":
		if v.Kind() != vm.KString {
			return vm.TypeErrorf("a file's %s must be a String, got %s", name, vm.TypeName(v))
		}
		f.fields.Set(name, v)
		if name == "content" {
			f.fields.Set("size", vm.Int(int64(len(v.AsString()))))
		}
		return nil
	}
	return vm.TypeErrorf("a file's %s cannot be set (only filename, content_type and content can)", name)
}

// Has is has_key and `in`.
func (f *File) Has(key string) bool { return f.fields.Lookup(key) >= 0 }

// Keys lists the fields for keys(), values(), entries() and spreading.
func (f *File) Keys(*vm.Thread) ([]string, error) {
	return append([]string(nil), f.fields.Keys()...), nil
}

func (f *File) Len() int { return f.fields.Len() }

// IteratesEntries marks the file as looping as an object does:
// `for key, value in file`.
func (f *File) IteratesEntries() {}

func (f *File) Iterator(*vm.Thread) (vm.Iterator, error) {
	return &fileIter{o: f.fields}, nil
}

type fileIter struct {
	o *vm.Object
	i int
}

func (it *fileIter) Next(*vm.Thread) (vm.Value, bool, error) {
	if it.i >= it.o.Len() {
		return vm.Nil, false, nil
	}
	k, v := it.o.Keys()[it.i], it.o.Slot(it.i)
	it.i++
	return vm.NewArray([]vm.Value{vm.Str(k), v}), true, nil
}

// JSONValue encodes the file as its object.
func (f *File) JSONValue() vm.Value { return vm.ObjectValue(f.fields) }

// EqualHost is ==: two files are equal when their fields are.
func (f *File) EqualHost(other vm.HostObject) bool {
	g, ok := other.(*File)
	return ok && vm.Equal(vm.ObjectValue(f.fields), vm.ObjectValue(g.fields))
}
