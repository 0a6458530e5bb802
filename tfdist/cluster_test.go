package tfdist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateLayout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       Cluster
		wantErr string // "" for valid
	}{
		{"one worker", Cluster{Worker: []string{"localhost:2222"}}, ""},
		{"workers and ps", Cluster{Worker: []string{"a:1", "b:1"}, PS: []string{"c:1"}}, ""},
		{"ipv6", Cluster{Worker: []string{"[::1]:2222", "[fe80::1]:2222"}}, ""},
		{"no workers", Cluster{PS: []string{"c:1"}}, "train.cluster.worker: at least one worker"},
		{"two ps", Cluster{Worker: []string{"a:1"}, PS: []string{"c:1", "d:1"}}, "train.cluster.ps: 2 tasks given"},
		{"no port", Cluster{Worker: []string{"localhost"}}, `train.cluster.worker[0]: "localhost" is not host:port`},
		{"empty host", Cluster{Worker: []string{":2222"}}, `train.cluster.worker[0]: ":2222" is not host:port`},
		{"port not a number", Cluster{Worker: []string{"a:http"}}, `port "http" is not a number in 1-65535`},
		{"port too large", Cluster{Worker: []string{"a:70000"}}, `port "70000"`},
		{"duplicate", Cluster{Worker: []string{"a:1", "a:1"}}, `train.cluster.worker[1]: "a:1" is also train.cluster.worker[0]`},
		{"duplicate across jobs", Cluster{Worker: []string{"localhost:9"}, PS: []string{"127.0.0.1:9"}}, "train.cluster.ps[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate("train.cluster")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadFileAndResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "worker:\n  - localhost:2222\n  - localhost:2223\nps: [localhost:2224]\n")
	c, err := Cluster{File: good, ConnectTimeout: 5}.Resolve("train.cluster")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Worker) != 2 || len(c.PS) != 1 || c.ConnectTimeout != 5 {
		t.Errorf("resolved %+v", c)
	}
	if c.ParamDevice() != "/job:ps/task:0" || c.Layout() != "2 workers, variables on ps task 0" {
		t.Errorf("param device %s, layout %s", c.ParamDevice(), c.Layout())
	}
	def := c.Def()
	if len(def.Job) != 2 || def.Job[0].Name != "worker" || def.Job[0].Tasks[1] != "localhost:2223" {
		t.Errorf("ClusterDef %v", def)
	}
	for _, tc := range []struct {
		name, body, wantErr string
	}{
		{"unknown key", "workers: [a:1]\n", "field workers not found"},
		{"malformed address", "worker: [localhost-2222]\n", `worker[0]: "localhost-2222" is not host:port`},
		{"duplicate", "worker: [a:1, a:1]\n", "is also"},
		{"not a list", "worker: a:1\n", "expected the keys worker and ps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(tc.name+".yaml", tc.body)
			_, err := Cluster{File: p}.Resolve("train.cluster")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %v, want it to name %s and contain %q", err, p, tc.wantErr)
			}
		})
	}
	if _, err := (Cluster{File: filepath.Join(dir, "missing.yaml")}).Resolve("train.cluster"); err == nil || !strings.Contains(err.Error(), "train.cluster.file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := (Cluster{File: good, Worker: []string{"a:1"}}).Resolve("train.cluster"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("file and inline: %v", err)
	}
}
