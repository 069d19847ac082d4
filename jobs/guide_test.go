package jobs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tova/jobs"
	"tova/jobs/jobstest"
	_ "tova/store" // models
)

// The guide's "Combining Patterns" program, as written there, inside a
// worker server, with real models: the schedule finds pending payments
// and publishes them, the subscriber spawns a job per payment, the job
// matches on charge_card's Result and updates the Payment or publishes
// payment_failed, which a subscriber in another server receives.
const guideSrc = `
%s

type Payment {
  id: Int
  amount: Float
  status: String
  error: String
}
model Payment

fn charge_card(payment) {
  if payment.amount > 100 { Err("card declined") } else { Ok(payment.id) }
}

server "api" {
  fn seed() {
    for amount in [10, 250.5, 99.99] { Payment.create({ amount, status: "pending" }) }
  }
  fn report() { "{Payment.all() |> map(fn(p) "{p.id}:{p.status}:{p.error}")}" }
}

server "worker" {
  // Scheduled task publishes events
  schedule "check_payments" cron("*/5 * * * *") {
    pending = Payment.where({ status: "pending" })
    pending |> each(fn(p) publish("payment_check", p))
  }

  // Event handler spawns background jobs
  subscribe "payment_check" fn(payment) {
    spawn_job(process_payment, payment)
  }

  // Background job does the work
  background fn process_payment(payment) {
    result = charge_card(payment)
    match result {
      Ok(_) => Payment.update(payment.id, { status: "completed" })
      Err(e) => {
        Payment.update(payment.id, { status: "failed", error: e })
        publish("payment_failed", payment)
      }
    }
  }
}

server "alerts" {
  subscribe "payment_failed" fn(payment) { print("alert: payment {payment.id} of {payment.amount} failed") }
}
`

func TestGuideCombiningPatterns(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			dbBlock := `db { adapter: "sqlite", database: "app.db" }`
			if be.name == "postgres" {
				dbBlock = fmt.Sprintf(`db { adapter: "postgres", url: %q }`, be.url)
			}
			dir := t.TempDir()
			// no DatabaseURL: the jobs go where the db block says (the
			// PostgreSQL database, or .tova/app.jobs.db next to the app)
			app := startApp(t, fmt.Sprintf(guideSrc, dbBlock), backend{}, func(o *jobstest.Options) {
				o.Dir = dir
				o.Jobs.TickEvery = 300 * time.Millisecond
			})
			if be.name == "sqlite" {
				if _, err := os.Stat(filepath.Join(dir, jobs.JobsFileOf("app.tova"))); err != nil {
					t.Errorf("jobs file: %v", err)
				}
			}
			app.call(t, "api", "seed")
			want := `["1:completed:nil", "2:failed:card declined", "3:completed:nil"]`
			var got string
			waitFor(t, 20*time.Second, "every payment processed", func() bool {
				v, err := app.Server("api").Call(context.Background(), "report")
				if err != nil {
					t.Fatal(err)
				}
				got = v.AsString()
				return got == want
			})
			waitFor(t, 10*time.Second, "the failure alert", func() bool {
				return len(app.out.Lines("alert: payment 2 of 250.5 failed")) > 0
			})
			if strings.Contains(app.out.String(), "alert: payment 1") || strings.Contains(app.out.String(), "alert: payment 3") {
				t.Errorf("alert for a payment that went through:\n%s", app.out)
			}
			if strings.Contains(app.logs.String(), `"level":"error"`) {
				t.Errorf("errors logged:\n%s", app.logs)
			}
		})
	}
}

// The guide's block as it is written there, at the top level of a
// program with no server block: its schedule, subscriber and background
// fn make up the program's one unnamed server (they were refused: "this
// declaration runs once per server").
const guideTopLevelSrc = `
db { adapter: "sqlite", database: "app.db" }
model Payment {
  amount: Float
  status: String
  error: String
}
fn charge_card(payment) {
  if payment.amount > 100 { Err("card declined") } else { Ok(payment.id) }
}
fn seed() {
  for amount in [10, 250.5] { Payment.create({ amount, status: "pending" }) }
}
fn report() { "{Payment.all() |> map(fn(p) "{p.id}:{p.status}")}" }

// Scheduled task publishes events
schedule "check_payments" cron("*/5 * * * *") {
  pending = Payment.where({ status: "pending" })
  pending |> each(fn(p) publish("payment_check", p))
}

// Event handler spawns background jobs
subscribe "payment_check" fn(payment) {
  spawn_job(process_payment, payment)
}

// Background job does the work
background fn process_payment(payment) {
  result = charge_card(payment)
  match result {
    Ok(_) => Payment.update(payment.id, { status: "completed" })
    Err(e) => {
      Payment.update(payment.id, { status: "failed", error: e })
      publish("payment_failed", payment)
    }
  }
}

subscribe "payment_failed" fn(payment) { print("alert: payment {payment.id} failed") }
`

func TestGuideCombiningPatternsAtTheTopLevel(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, guideTopLevelSrc, backend{}, func(o *jobstest.Options) {
		o.Dir = dir
		o.Jobs.TickEvery = 300 * time.Millisecond
	})
	app.call(t, "", "seed")
	want := `["1:completed", "2:failed"]`
	var got string
	waitFor(t, 20*time.Second, "every payment processed", func() bool {
		v, err := app.Server("").Call(context.Background(), "report")
		if err != nil {
			t.Fatal(err)
		}
		got = v.AsString()
		return got == want
	})
	waitFor(t, 10*time.Second, "the failure alert", func() bool {
		return len(app.out.Lines("alert: payment 2 failed")) > 0
	})
}

// The top-level code of a program with no server block may name a
// top-level background fn, as it names a plain fn: it was read before
// the server that owns it was set up ("resize is read before its
// declaration has run", the start failed).
func TestTopLevelCodeNamesATopLevelBackgroundFn(t *testing.T) {
	app := startApp(t, `
background fn resize(x) { print("resized {x}") }
kinds = { img: resize }
fn kick() { spawn_job(kinds.img, 7) }
fn same() { kinds.img == resize }
`, backend{}, func(o *jobstest.Options) { o.Dir = t.TempDir() })
	// One function, whoever names it (the server bound another).
	if v, err := app.Server("").Call(context.Background(), "same"); err != nil || !v.Truthy() {
		t.Errorf("kinds.img == resize: %v, %v", v, err)
	}
	app.call(t, "", "kick")
	waitFor(t, 20*time.Second, "the job run", func() bool { return len(app.out.Lines("resized 7")) == 1 })
}
