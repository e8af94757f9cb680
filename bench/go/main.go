// asynqbench: Go asynq v0.26.0 as a peer of ../shared/bench (bench/peer_adapter_go.py).
//
// Built with ../shared/asynq-lab/build.sh --src bench/go (the lab's vendored modules, offline).
// Two modes, both measured by the harness exactly as it measures the Python peers:
//
//	asynqbench -m peerbench.producer PEER MODE N [RATE]   the harness's producer command line:
//	    MODE single: N x Client.Enqueue, timed; rate: N at RATE/s with "ts" stamped just before
//	    each call (latency); bulk: not offered (asynq v0.26 has no batch enqueue). Prints
//	    {"n": N, "seconds": S} like peerbench.producer.
//	asynqbench work [-concurrency N]                      an asynq.Server whose no-op handler
//	    first appends the harness's completion record ("<enqueue ts> <handler start ts>\n",
//	    40 bytes, O_APPEND) to $PEERBENCH_DONE_FILE, as peerbench.common.mark does.
//
// Redis is $PEERBENCH_REDIS_HOST:$PEERBENCH_REDIS_PORT (default 127.0.0.1:6390), DB 0, queue
// "default", task type "bench:noop", payload {"i":..,"ts":..,"pad":"x"*50} as make_payload.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
)

const taskType = "bench:noop"

var pad = strings.Repeat("x", 50)

func redisOpt() asynq.RedisClientOpt {
	host := os.Getenv("PEERBENCH_REDIS_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	port := os.Getenv("PEERBENCH_REDIS_PORT")
	if port == "" {
		port = "6390"
	}
	return asynq.RedisClientOpt{Addr: host + ":" + port, DB: 0}
}

func unixNow() float64 { return float64(time.Now().UnixNano()) / 1e9 }

func payload(i int) []byte {
	b, _ := json.Marshal(map[string]interface{}{"i": i, "ts": unixNow(), "pad": pad})
	return b
}

func produce(mode string, n int, rate float64) {
	if mode == "bulk" {
		fmt.Fprintln(os.Stderr, "asynqbench: asynq v0.26 has no bulk enqueue")
		os.Exit(2)
	}
	c := asynq.NewClient(redisOpt())
	defer c.Close()
	if err := c.Ping(); err != nil {
		fmt.Fprintln(os.Stderr, "asynqbench: redis:", err)
		os.Exit(1)
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if mode == "rate" {
			if d := time.Until(t0.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		if _, err := c.Enqueue(asynq.NewTask(taskType, payload(i))); err != nil {
			fmt.Fprintln(os.Stderr, "asynqbench: enqueue:", err)
			os.Exit(1)
		}
	}
	elapsed := time.Since(t0).Seconds()
	out, _ := json.Marshal(map[string]interface{}{"n": n, "seconds": elapsed})
	fmt.Println(string(out))
}

type marker struct {
	mu sync.Mutex
	f  *os.File
}

// mark appends one fixed-size record with a single write(2) on an O_APPEND file, as the harness's
// common.mark does, so counting completions adds no Redis round trip.
func (m *marker) mark(p []byte) error {
	now := unixNow()
	var body struct {
		TS float64 `json:"ts"`
	}
	if err := json.Unmarshal(p, &body); err != nil {
		return err
	}
	rec := fmt.Sprintf("%19.6f %19.6f\n", body.TS, now)
	_, err := m.f.Write([]byte(rec))
	return err
}

func work(args []string) {
	conc := 0 // 0: asynq's default, runtime.NumCPU()
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-concurrency" {
			conc, _ = strconv.Atoi(args[i+1])
		}
	}
	f, err := os.OpenFile(os.Getenv("PEERBENCH_DONE_FILE"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "asynqbench: done file:", err)
		os.Exit(1)
	}
	m := &marker{f: f}
	mux := asynq.NewServeMux()
	mux.HandleFunc(taskType, func(ctx context.Context, t *asynq.Task) error { return m.mark(t.Payload()) })
	srv := asynq.NewServer(redisOpt(), asynq.Config{Concurrency: conc, LogLevel: asynq.WarnLevel})
	if err := srv.Start(mux); err != nil {
		fmt.Fprintln(os.Stderr, "asynqbench: start:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	srv.Shutdown()
}

func main() {
	if len(os.Args) >= 6 && os.Args[1] == "-m" {
		n, _ := strconv.Atoi(os.Args[5])
		rate := 0.0
		if len(os.Args) > 6 {
			rate, _ = strconv.ParseFloat(os.Args[6], 64)
		}
		produce(os.Args[4], n, rate)
		return
	}
	if len(os.Args) >= 2 && os.Args[1] == "work" {
		work(os.Args[2:])
		return
	}
	fmt.Fprintln(os.Stderr, "usage: asynqbench -m peerbench.producer PEER single|rate N [RATE] | asynqbench work [-concurrency N]")
	os.Exit(2)
}
