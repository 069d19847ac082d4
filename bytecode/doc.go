// Package bytecode defines the compiled form of a Tova program and the
// .tbc file that stores it.
//
// The package holds five things:
//
//   - the instruction set: fixed-width 64-bit instructions (Instr) whose
//     opcodes, operand kinds and one-line semantics are declared once, as
//     data, in the Ops table (op.go);
//   - Program, everything the VM and the server runtime need to run a
//     program: constants, functions with their code, line tables and
//     capture lists, type descriptors, builtin and global names, servers;
//   - the compiler from the checked syntax tree to a Program;
//   - the .tbc format: Encode, Decode, WriteFile and ReadFile;
//   - the disassembler, Disasm, whose listing is derived from the Ops
//     table and is what codegen tests compare against golden files.
//
// # The .tbc format
//
// A .tbc file is a Program written so that a later run can skip the
// front end. It is specified, versioned and self-checking: Decode either
// returns a Program that passes the same validation the VM relies on, or
// a *FormatError naming what is wrong and where. It never panics, and it
// never allocates more than a small multiple of the input's size.
//
// The layout, in EBNF-style notation. Integers marked u16, u32 and u64
// are little-endian fixed-width; uvarint is encoding/binary's unsigned
// varint and varint its zig-zag signed varint, both in their shortest
// form (a longer encoding of the same value is rejected, so every
// Program has exactly one encoding and Encode(Decode(b)) == b).
//
//	file      = header section* end checksum .
//	header    = magic version flags .
//	magic     = "\x89TBC\r\n\x1a\n" .   (8 bytes)
//	version   = u16 .                   (the format version, see below)
//	flags     = u32 .                   (no flag is defined: must be 0)
//	end       = 0x00 .
//	checksum  = u32 .                   (CRC-32C of every byte before it)
//
//	section   = tag:byte length:uvarint payload .  (payload is length bytes)
//
//	tag 1  sources    = count:uvarint { name:string sha256 } sourceHash:sha256 .
//	tag 2  constants  = count:uvarint { constant } .
//	tag 3  types      = count:uvarint { typeDesc } .
//	tag 4  builtins   = strings .
//	tag 5  globals    = strings .
//	tag 6  functions  = count:uvarint { function } .   (count >= 1; function 0 is main)
//	tag 7  servers    = count:uvarint { server } .
//	tag 8  configs    = configs .                      (Program.Configs)
//
//	constant  = 0x00                          (nil)
//	          | 0x01 value:varint             (int)
//	          | 0x02 bits:u64                 (float, math.Float64bits)
//	          | 0x03 value:string             (string)
//	          | 0x04 (0x00 | 0x01)            (bool)
//	          | 0x05 names:strings .          (names)
//	typeDesc  = name:string fields:strings
//	            variantCount:uvarint { name:string fields:strings }
//	            derive:strings fieldTypes:strings defaults
//	            { defaults } { fieldTypes:strings }   (per variant)
//	function  = name:string file:uvarint pos
//	            fnFlags:byte                  (bit 0 HasRest, bit 1 Async, others 0)
//	            numParams:uvarint numRegs:uvarint
//	            paramNames:strings paramTypes:strings
//	            codeLen:uvarint { instr:u64 }
//	            lineCount:uvarint { dpc:uvarint dline:varint col:varint }
//	            captureCount:uvarint { capture:uvarint } .
//	server    = name:string pos init:uvarint port:varint   (port -1: none)
//	            portPos:pos                         (0 0 when no port)
//	            routeCount:uvarint { route }
//	            hookCount:uvarint { hook }
//	            configs .
//	route     = kind:string method:string path:string slot:uvarint
//	            guardCount:uvarint { slot:uvarint } pos .
//	hook      = kind:string name:string arg:string slot:uvarint pos .
//	configs   = count:uvarint { kind:string name:string slot:uvarint pos
//	            count:uvarint { key:string pos } } .
//	pos       = line:varint col:varint .
//	strings   = count:uvarint { string } .
//	string    = length:uvarint bytes .
//	sha256    = 32 bytes .
//
// Every section appears exactly once, in tag order; the end byte follows
// the configs section. Sections carry their length so that a reader can
// check the framing and the checksum before it interprets any payload,
// and so that a new kind of data is a new tagged section.
//
// Line tables are delta-encoded: entry i stores its PC minus the PC of
// entry i-1 (the first, minus 0) and its line minus the line of entry i-1
// (the first, minus the function's own line); columns are stored as they
// are. A capture stores Index<<1 | 1 when the variable comes from the
// enclosing function's free variables, Index<<1 when from its registers.
// Empty lists decode as nil slices.
//
// The checksum is CRC-32C (Castagnoli, hash/crc32), chosen because it is
// cheap, hardware-accelerated and catches the damage files suffer in
// practice: truncation, bit rot, text-mode line-ending conversion. It is
// no defence against a deliberately crafted file; validation is what
// bounds such a file.
//
// After the payloads are read, every instruction is checked against the
// operand kinds of its opcode in Ops: registers against the function's
// NumRegs, including the extra registers the opcode's Doc says it uses
// (R[A..A+3] for FORPREP, R[B..B+C-1] for NEWARRAY, R[B+1] for ITERNEXT
// when its ITERPREP asked for pairs); constants, functions, types,
// builtins, globals and free variables against their tables; jump
// targets against the code length, and only JMP and FORLOOP may jump
// back (the VM checks deadlines and signals there, so no loop escapes
// them); and the constant kinds some opcodes
// need (a names constant for NEWOBJ and CALLKW, a string for field,
// method, type, tag and unit names). The main function and server init
// functions, which run without a closure, must not capture; server
// metadata must name existing functions and module slots, and hold only
// what the compiler makes: route kinds, methods and paths (a path the
// router would refuse), hook kinds. Validation
// makes every index an instruction holds safe to use.
//
// Then every path through each function is followed from its first
// instruction (flow.go), for the values the VM makes for its own use
// and takes on trust: GETCELL, SETCELL and the register captures of
// CLOSURE must find a cell (MKCELL) in their register on every path
// that reaches them, ITERNEXT an iterator (ITERPREP), ARRPUSH and
// ARRSPREAD a list (NEWARRAY), OBJSET and OBJSPREAD an object (NEWOBJ),
// and TRYEND a handler its function pushed (TRYBEGIN); paths that meet
// must have pushed the same handlers. A call writes every register from
// its result up (the callee's frame starts above it), and an error
// under a handler reaches the handler with the registers as they were
// before the instruction that raised it. The kinds of the values a
// program computes (an Int where a String is wanted) remain the VM's to
// check at run time.
//
// Program.Validate runs the same checks, and Encode refuses a Program
// that fails them, so every file Encode writes is one Decode accepts.
//
// # Versions
//
// A reader accepts exactly its own format version: a file from another
// version is rejected with "built for .tbc format N, this tova reads M"
// and must be rebuilt from source. Any change to the layout above, to
// the meaning of a field, or to the instruction set's numbering or
// operands bumps Version and adds a line here.
//
//	1: initial format.
//	2: a server carries its `port` declaration's position (portPos), so
//	   that serve names the line of a computed port it refuses.
//	3: record types keep their fields' types, routes their body types.
//	4: ATOMIC brackets a statement that writes module state.
//	5: routes and hooks carry their routes group's scope, which scopes
//	   middleware and on_error (a prefix alone took in routes written
//	   outside the group).
//	6: UNWRAPFAIL raises the error of `?` on Err or None at the top
//	   level, which has no function to return from. FORPREP and FORLOOP
//	   take C = 1 for a limit that is in the range (a..=b: b + 1 may
//	   pass the largest Int).
//	7: a server's hooks include "rpc" hooks: the functions another
//	   server of the program calls by name, which it answers at
//	   POST /rpc/<fn>.
//	8: DEFMETHOD gives a type the methods and associated functions of
//	   its impl blocks.
//	9: YIELD suspends a generator's body (a function that yields).
//	10: UNPACK checks the value a list pattern destructures.
//	11: variants keep their fields' types, which a handler checks a
//	   request's variant value against.
//	12: a call of another server's function with named arguments gives
//	   __peer, as its second argument, the parameter each argument is
//	   for (it listed the parameters left out), and a function's last
//	   instruction never falls through.
//	13: GT, GE, JNGT and JNGE compare two registers the way round the
//	   source has them (a > b was b < a, and its TypeError named the
//	   operands' types in the other order).
//	14: TRYBEGIN's C, when not 0, is where a cancellation (a request's
//	   deadline) goes: the finally block (or the deferred code) of the
//	   try, then the error raised again. Cancellation is never caught,
//	   but it ran no finally block and no defer. An "rpc" hook's Arg
//	   "@N" is a port read from module slot N (`port WORKER_PORT`, a
//	   constant or env of the top level); "?" (since a later build of
//	   16, which earlier ones wrote as "") a port the server computes in
//	   its own block, which another process cannot know.
//	15: JNNILNAN: `a ?? b` takes b when a is nil or NaN.
//	16: a config's keys and where their values are, for start-up errors.
package bytecode
