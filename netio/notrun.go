package netio

import "github.com/valyala/fasthttp"

// HeaderNotRun marks an answer the runtime gave before any handler of
// the request ran: a request that began during the drain, one still
// arriving when the drain ended, one refused because every handler was
// busy and too many were waiting, one whose deadline passed or whose
// server stopped before its handler began (see Request.Waiting). A client may send such a request again
// (to this server or another) knowing that nothing of it ran; any other
// answer, a 503 SHUTTING_DOWN of a request stopped while its handler
// ran included, says nothing of the kind.
const HeaderNotRun = "X-Tova-Not-Run"

// markNotRun sets HeaderNotRun on ctx's answer.
func markNotRun(ctx *fasthttp.RequestCtx) { ctx.Response.Header.Set(HeaderNotRun, "1") }
