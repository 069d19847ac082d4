// Package jobs runs the background side of Tova servers: `background fn`
// with spawn_job, `schedule`, and `subscribe` with publish. Everything
// is a durable job in a River queue (github.com/riverqueue/river), and
// every execution — a job, one schedule tick, one event delivery — runs
// as Tova code on the server's VM instance, in a worker of a supervised
// actor pool (tova/actors), under the instance's GIL like a request.
//
// # The machine
//
// Each server gets a Runner (Start, after the server's body ran; Stop on
// shutdown): a River client that works the server's queue, named after
// the server ("default" for the unnamed one), with `workers` workers,
// and, when the server has schedules, their tick queue with one worker
// per schedule. The ticks have a lane of their own so that a schedule
// fires on time whatever the backlog: on the jobs' queue a tick waited
// behind every job stored before it, and the ticks due meanwhile were
// skipped. A tick is still a stored job, so what holds of a job's
// durability holds of it. There are three job kinds, whose arguments
// name the Tova function:
//
//	tova_job       {server, fn, args, request_id}        a spawn_job of background fn `fn`
//	tova_event     {server, topic, payload, request_id}  one delivery of a published event
//	tova_schedule  {server, schedule}                    one tick of a schedule
//
// Where the queue lives: with a `db { adapter: "postgres", url }` block,
// in that PostgreSQL database (River's pgx driver, LISTEN/NOTIFY wakes
// the workers), in the program's own schema (ProgramSchema: tova_app for
// app.tova; the URL's search_path if it sets one), so that programs of
// different names sharing the database never share a queue, a leader or
// a subscription list (two programs both named app.tova do: give one a
// search_path of its own); otherwise in a SQLite file of its own,
// .tova/<program>.jobs.db next to the program (JobsFileOf; River's SQLite
// driver), so that two programs in one directory never share a queue,
// and the queue's single writer connection never queues behind the
// application's. That connection keeps River's statements prepared
// (internal/sqlitecache) and its statement journals in memory: compiling
// River's long statements at every use, and the memory it took and gave
// back, cost about 5 ms of CPU a job; a small job now costs 0.5 to 1 ms
// from spawn_job to its completion. On
// SQLite a job this process inserts wakes its queue at once (notify.go);
// one inserted by another process sharing the file is seen within
// SQLiteListenPoll (250 ms), and a retry whose backoff has passed within
// SQLiteFetchPollInterval (250 ms). An idle program's queue costs about
// 1-2% of a core. `jobs { database: "file" }` or `jobs { url: "postgres://…" }`
// put it elsewhere (not in the program's own SQLite file, which tova
// serve refuses: SQLite has one writer a file, so the app's
// transactions would hold off the queue). River's migrations run at start (serialised between
// processes), plus two tables: tova_subscriptions(topic, server, queue)
// and tova_job_clients (one row per running Runner: host, process id,
// heartbeat). Several processes — replicas of a server, or different
// named servers — share one queue database; each works only the queues
// of the servers it runs. A server needs a Runner only when it declares
// a background fn, schedule or subscription, or the program calls
// spawn_job or publish (Needed). Completed jobs are kept for 24 hours,
// discarded ones for 7 days (River's cleaner).
//
// # Tova-facing behaviour
//
//	background fn name(args) { … }   a function spawn_job can run
//	spawn_job(name_or_fn, args…)     → Int, the job id
//	publish(topic, payload)          → Int, how many servers it was stored for
//	subscribe "topic" fn(payload) { … }
//	schedule "name" cron("*/5 * * * *") { … }   (the guide's form)
//	schedule "30s" fn name() { … }              (the reference's form; name is
//	                                             also a function of the server)
//	job_id(), job_attempt()          the running job's id and attempt (nil outside one)
//	request_id()                     the id of the request served, or of the one
//	                                 that stored the running job (nil with none)
//	jobs { max_attempts: 4, workers: 10, timeout: 60.seconds,
//	       backoff: 1.second, max_backoff: 5.minutes }   (plain numbers are seconds)
//
// spawn_job accepts the background fn itself (its name is the job name)
// or its name as a String; a background fn of another server of the
// program is run by that server (its own server's wins). It returns once
// the job is committed to the queue, without waiting for it to run; an
// unknown name or an anonymous function is an error at the call. In a
// program with servers, spawn_job naming a function declared with plain
// fn (which no server runs as a job) is a compile error.
// spawn_job and publish work from on_start hooks, handlers, jobs,
// schedules, subscribers and on_stop hooks (the queue's database stays
// open until they ran: Close; what they store, the next process to work
// the queue runs); the program's top-level code and a server
// block's body run before the server's jobs start, and there they
// raise a JobError saying so.
//
// A job or an event stored while a request is served keeps the
// request's id (request_id, given by Options.RequestID; left out when
// there is none): every log line about it carries it, its code's calls
// to other servers send it (RequestOf), and what it spawns or publishes
// keeps it in turn. One stored by on_start or a schedule's tick has
// none, nor do the ticks, nor jobs stored before the field existed,
// which run as ever.
//
// A job fails when its code throws, hits a runtime error, exceeds the
// timeout (the VM stops it at its next backward jump or call), or
// returns an Err value (reported where it returned it). A failed attempt is logged (server, job, id,
// request id, attempt, Tova stack) and retried after base·2^(attempt−1), capped at
// max_backoff, times a random factor in [0.5, 1). After max_attempts the
// job is kept as discarded, with every attempt's error and stack trace:
// `tova jobs app.tova --state discarded` lists them. Job ids are stable
// across retries and restarts: use job_id() to make effects idempotent.
// max_attempts, the backoff and the timeout are those of the server that
// runs the job — the background fn's server, for an event delivery the
// subscriber's — whichever server spawned or published it: the job is
// stored with the storing server's max_attempts (the count `tova jobs`
// shows for a job not tried yet), and the running server puts its own
// in its place when an attempt starts. It alone knows it: it may run in
// another process, and its `jobs { }` block is computed by its body. A
// job whose attempts so far already reach it (a deploy lowered it) is
// discarded without running again, its error saying so.
//
// A job of a background fn the running server does not have (spawned by
// the program's next version during a rolling deploy, into the queue
// both versions work) is handed back to the queue 15 s later, its
// attempt not spent, for a process that has the fn, during the first 15
// minutes after it was stored (ForeignJobPatience); after that, each
// such run fails an attempt, so that a job of a fn no version has any
// more ends discarded. A tick of a schedule the running server does not
// have (the next version added it) goes back to the queue at once, for
// a process that has it, while another process runs the server and for
// a minute after it was stored; else it is dropped, with a warning. (A
// leader of the older version stores no tick of a schedule it does not
// have: until a process of the next version leads, such a schedule
// does not fire.)
//
// # Delivery guarantee and ordering
//
// At least once. A job, a delivery or a tick is committed before
// spawn_job / publish returns or the tick is due (a cron tick the
// database could not store then is stored late, once it answers; see
// the schedules below), and it stays stored
// until one attempt succeeds or all attempts failed. A process killed in
// the middle (SIGKILL, a crash) loses nothing (on SQLite, an operating
// system crash or power loss may lose the last commits: the jobs file
// runs with synchronous=NORMAL): its running jobs are handed back to the queue — at once by
// the next Runner of that server started on the same host (the dead
// process id is gone), or by any running Runner of that server once the
// dead one missed five heartbeats (10 s) — and run again. So code may
// run more than once for one job: the first run may have had effects
// before the kill. That holds too of the jobs the process finished in
// the last moments before it died, 50 ms on an idle machine, up to a
// few hundred while the machine or its database is busy: River records
// completions in batches, every 50 ms, and a job not yet recorded is
// handed back as a running one is (a kill under a load of a thousand
// small jobs a second reran about a hundred).
// Recording each job's completion at once, in a transaction of its own,
// halved the jobs a second SQLite's queue works (bench/jobsbench: 4351
// against 2380), so the batches stay. The attempt the process died in counts: a job it was
// running on its last attempt is discarded instead, so that a job that
// brings its process down (out of memory) does not run at every restart;
// so is one that ended in those moments before the kill, its end not yet
// stored (a schedule's tick, tried once, included): its error says so. A graceful stop (SIGTERM) gives running jobs the
// drain to finish, starting no new one; what they spawn or publish
// meanwhile is stored, for the next process to run. Those it then cuts short go back to the queue with
// their attempt not spent (stopping is not the job's failure), and run
// again when a Runner works the queue.
//
// publish(topic, payload) stores one delivery per server that subscribes
// to the topic — in this process or any other sharing the database —
// in one transaction: each server of the program that declares a
// subscriber of the topic, and each other server that registered one
// when its Runner started (another version of the program). A server
// that has not started yet, or is down, receives its deliveries when it
// starts. A server the program no longer declares
// (renamed or removed in a new version), and that no process runs, is
// forgotten, with a warning, when the program's servers start: publish stores nothing more for it
// (what it stored before stays queued, listed by tova jobs). Its pending
// jobs of a background fn that one server of the program has (the
// guide's `server { }` renamed `server "api" { }`) are taken over by that
// server when it starts, logged at info, and run there; its other jobs
// (deliveries, ticks, a fn no server has, or several do) stay queued, a
// warning saying how many. While a process still runs the server (the
// old version, in a rolling deploy), or one stopped so lately that it is
// not yet seen dead (killed on another host: its heartbeat's lease), it
// keeps them: the program's servers look again every 30 heartbeats (a
// minute), and take over what it left, and forget its subscriptions,
// once it has stopped. A job of a background fn its server no longer
// has, which one other server of the program has (the fn moved in a new
// version), is handed to that server, once. When a server has several subscribers
// of one topic, the delivery is split into one job each, atomically, so
// a failing subscriber is retried alone. Such a job still pending when
// the program changes (a deploy) runs the subscriber of its name
// (`subscribe "orders" fn ship(o)`; two subscribers of a topic may not
// share one) in the new version; one for an unnamed subscriber runs the
// one in its place among the topic's unnamed subscribers, if they are
// as many as before, and is dropped with a warning otherwise: name the
// subscribers of a topic to keep their deliveries across any change. A
// dropped delivery (so is one for a subscriber, or a topic, the server
// no longer has) is discarded, its last error saying why, so that tova
// jobs lists it. publish works in every server,
// also one without subscribers, and reaches the publishing server's own
// subscribers the same way.
//
// There is no ordering guarantee. Jobs of one queue are started roughly
// in the order they were stored (by scheduled time, then id), but up to
// `workers` run at once, retries run later, and deliveries to different
// servers are independent. Schedule ticks are not among them: their
// queue is worked apart, so a tick does not wait for the jobs before it.
//
// Schedules fire on the queue's elected leader: one Runner among all
// processes sharing the database stores every tick of every schedule of
// the program (each Runner knows them all, so any may lead, and checks
// whether it leads when a tick falls due), so a tick happens once
// however many replicas run. A process logs, at info, when it begins
// storing the ticks ("jobs: this process now stores the schedules'
// ticks") and when another takes them over. A tick stored for a server
// whose process is down (the leader may be another server's process)
// waits in the queue and runs when that server's process comes back,
// late. A 5-field cron expression, as crontab(5)
// reads it (lists, ranges, steps, month and day names; day of week 0–7,
// both 0 and 7 being Sunday, in every form: "1-7/2" is Monday,
// Wednesday, Friday and Sunday; "a/step" runs to the field's maximum;
// the day of month and the day of week combine with OR only when
// neither is written from a star, "*/2" being one: "0 0 */2 * 5" is
// the Fridays of odd days),
// fires on minute boundaries in the process's local time zone, with
// crontab(5)'s rules at DST changes for a job at fixed times (a time
// the clock goes back over runs once; one it skips runs just after the
// change), while a job whose minute or hour is written from a star runs
// by the new time (one no
// date matches, "0 0 31 2 *", is a compile error: it would never fire); an
// interval ("30s", "5m", "1h", "1d", also written "@every 90s"; at least one
// second) fires that long after the previous tick, the first an
// interval after the server started (when its Runner started, after
// the server's body ran): a Runner starting with no live leader is
// elected at once, and the leader's start sets the rhythm. A Runner
// that becomes the leader later, its predecessor stopped or dead,
// leaves out the first tick of an interval falling due then: its ticks
// keep the rhythm of its own start, and so come at least an interval
// after the last leader's. A
// tick is unique while one is queued or running: a run still going
// when the next tick comes makes that tick skip, never a second copy.
// A tick is tried once: a failing run is logged (and listed as
// discarded) and the next tick runs as usual. A bad pattern (naming the
// field and the item at fault), an interval under a second, an empty
// schedule name, or a name declared twice in a server, is a compile
// error at its declaration. A schedule with neither name is known by its
// pattern, and a second one of the same pattern by its place among them
// ("30s #2"). A leader killed on this host (its process
// gone) loses its leadership when a Runner starts there, or at the next
// heartbeat of one, so a restarted server's schedules keep the rhythm of
// its start rather than waiting for the dead leader's lease to expire;
// a replica already running then takes the lead at its next election
// (River tries every 5 s or so), and leaves its first tick out: an
// interval schedule of a leader killed under it skips about 10 s of
// ticks (measured: a "2s" schedule's ticks came back 9 s after the
// kill), a cron tick falling due meanwhile is stored late, as below.
// A cron tick falling due while a dead leader's lease still holds (a
// leader killed on another host keeps it some 20 s) is not lost: every
// other Runner watches it, and once the leader is presumed dead (no
// heartbeat for five of them, or its process gone on this host) without
// having heartbeat after the tick, stores the tick, late, unless it was
// stored (with a warning saying so). With no other Runner watching (one
// process, killed and restarted over the tick), the Runner that starts
// on that host next stores the last tick that fell due between the dead
// leader's last heartbeat and the end of its lease, late, the same way;
// a tick falling due while no process ran and no lease held is skipped,
// as cron skips the ticks of a machine that was off. A cron tick the
// database could not store when it fell due (unreachable for a failover
// or a restart) is not lost either: every Runner that failed to store it
// (or to read the leader then) tries again a second later, then twice
// as long each time up to 30 s, and stores it, late, once the database
// answers, unless a tick was stored since (by another replica: it still
// runs once); it gives up when the schedule's next tick falls due, which
// takes over, as the ticks a paused process missed collapse into the
// next. It logs when it starts retrying and when it ends, not at each
// try. An interval's tick that could not be stored is skipped, its next
// one coming soon.
//
// # Transactions
//
// On PostgreSQL, a runtime that gives the Runner Options.CallerTx (the
// store's db.transaction) makes spawn_job and publish called inside a
// transaction store their jobs in it: they run only if it commits (the
// outbox pattern, no dual write). Elsewhere — on SQLite, whose jobs file
// is separate from the app's database, or without CallerTx — the jobs
// are committed at the call, so a job spawned in a transaction that
// later rolls back still runs.
//
// # Arguments
//
// Job arguments and event payloads are stored as JSON (stdlib.AppendJSONExact,
// as a call to another server sends them),
// held in a JSON string within the job's arguments (so that PostgreSQL's
// jsonb, which sorts an object's keys, keeps their order), and read back
// with stdlib.ParseJSON, so what a job receives is what
// JSON round-trips: nil, Bool, Int, Float (written with a fraction
// when whole, 2.0, so that it comes back a Float), String, lists, and objects with their key
// order. Records come back as plain objects with the same fields (field
// access works; the type is gone; a parameter of the record's type
// makes it one again). Some(v) arrives as v and None as nil (a
// parameter typed Option<T> makes them Some and None again), Ok(v) as
// {value: v} and Err(e) as {error: e} (a parameter typed Result<T, E>
// makes them Ok and Err again), other variants as {__tag: "Name",
// fields…}: the forms a call to another server's function sends
// (docs/server.md, "How values cross"). Durations arrive as Int milliseconds, sizes
// as Int bytes. A function, which JSON would drop, is a TypeError of
// spawn_job or publish naming where it is in the arguments; a Float
// that is not finite (Infinity, -Infinity, NaN), which JSON has no form
// for, a ValueError the same way.
// Model rows arrive as plain objects.
//
// The JSON of a job's arguments (as a list) or of an event's payload is
// at most 1 MiB (MaxArgsBytes); past that, spawn_job and publish raise a
// JobError giving the size and the limit, and store nothing. A job costs
// 10 to 30 times its arguments in memory on its way through the queue,
// and storing it takes about 70 ms per MiB, during which a SQLite
// queue's single writer is busy; neither River nor the databases are
// made for large rows (PostgreSQL stores a row past about 2 kB
// compressed and out of line, and decompresses it at every read). Store
// large data in the database and pass its id. Lists and objects nest at
// most 512 levels deep in an argument or a payload (MaxArgsDepth; a
// JobError past that): SQLite's JSON functions, through which River
// stores jobs, stop at 1000 levels, and a stored job wraps its arguments
// in levels of its own. A script keeps to the same limits.
//
// # Scripts
//
// A script run with `tova run` has no queue: spawn_job(fn, args…) given
// a function value runs it at once on the calling thread (after the same
// JSON round trip) and returns nil (no job is stored, so there is no
// id); a failure, a throw or an Err returned, is reported on stderr
// instead of raised, with where it was and its stack ("job work failed:
// app.tova:2:9: TypeError: ..."). publish stores nothing and returns 0. (spawn_job("name"), a
// background fn by name, needs the queue: in a script that is a
// JobError saying to give the fn itself.)
package jobs
