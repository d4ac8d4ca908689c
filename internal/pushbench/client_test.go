package pushbench_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// runClient is the child process: it opens N subscribers, prints "ready",
// then prints "done I" once all N received message I, and at the end (stdin
// closed) writes every receive time as "I unixnano" lines to the file named
// by PUSHBENCH_OUT.
func runClient() {
	url, mode, token := os.Getenv("PUSHBENCH_URL"), os.Getenv("PUSHBENCH_MODE"), os.Getenv("PUSHBENCH_TOKEN")
	n, _ := strconv.Atoi(os.Getenv("PUSHBENCH_N"))
	var mu sync.Mutex
	counts := map[int]int{}
	var lines []string
	received := func(i int) {
		now := time.Now().UnixNano()
		mu.Lock()
		counts[i]++
		lines = append(lines, fmt.Sprintf("%d %d", i, now))
		if counts[i] == n {
			fmt.Printf("done %d\n", i)
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for c := 0; c < n; c++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			conn := dial(url, mode, token)
			<-sem
			go readLoop(conn, mode, received)
		}()
	}
	wg.Wait()
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // the parent closes stdin when done
	mu.Lock()
	_ = os.WriteFile(os.Getenv("PUSHBENCH_OUT"), []byte(strings.Join(lines, "\n")), 0o644)
	mu.Unlock()
}

func dial(url, mode, token string) *websocket.Conn {
	d := websocket.Dialer{HandshakeTimeout: time.Minute}
	if mode != "floor" {
		d.Subprotocols = []string{"graphql-transport-ws"}
	}
	for attempt := 0; ; attempt++ {
		conn, _, err := d.Dial(url, http.Header{})
		if err != nil {
			if attempt > 20 {
				panic(err)
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if mode != "floor" {
			must(conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]string{"Authorization": "Bearer " + token}}))
			var ack map[string]any
			must(conn.ReadJSON(&ack))
			must(conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
				"query": "subscription { purchaseOrderUpdated { cursor purchaseOrder { number status customer { name } } } }"}}))
		}
		return conn
	}
}

func readLoop(conn *websocket.Conn, mode string, received func(int)) {
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if mode == "floor" {
			if i, err := strconv.Atoi(string(data)); err == nil {
				received(i)
			}
			continue
		}
		// As cheap as the floor's parsing, so the client's own CPU (it shares
		// the machine) does not weigh on one side: find the order number.
		if i, ok := orderIndex(data); ok {
			received(i)
		}
	}
}

var numberMarker = []byte(`"number":"B-`)

func orderIndex(data []byte) (int, bool) {
	at := bytes.Index(data, numberMarker)
	if at < 0 {
		return 0, false
	}
	rest := data[at+len(numberMarker):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return 0, false
	}
	i, err := strconv.Atoi(string(rest[:end]))
	return i, err == nil
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
