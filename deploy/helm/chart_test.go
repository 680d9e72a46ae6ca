// Package helm tests the Helm chart in ./gatehouse: `helm lint`, and
// `helm template` renders checked for the chart's security settings and for
// its refusals of unsafe values. It needs the helm binary (on PATH or in
// $(go env GOPATH)/bin); CI builds it from the Go module proxy and requires
// it (GATEHOUSE_TEST_REQUIRE=helm).
package helm

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

const chartDir = "gatehouse"

// kubeVersion is passed to helm template: a helm built from source
// defaults to an old one.
const kubeVersion = "1.30.0"

// required are the values without which the chart refuses to render.
var required = []string{
	"secretKey.existingSecret=gatehouse-key",
	"siteUrl=https://auth.example.com",
	"proxy.trustedProxies=10.42.0.0/16",
}

func helmBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "helm")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.Unavailable(t, "helm", "install it with: go install helm.sh/helm/v3/cmd/helm@v3.22.0")
	return ""
}

func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if err != nil {
		return stderr.String(), err
	}
	return out.String(), nil
}

func setArgs(values []string) []string {
	var args []string
	for _, v := range values {
		args = append(args, "--set", v)
	}
	return args
}

// manifests is a render split into documents by kind and name.
type manifests map[string]string // "Kind/name" → document

var (
	kindRE = regexp.MustCompile(`(?m)^kind: (\w+)`)
	nameRE = regexp.MustCompile(`(?m)^metadata:\n(?:  .*\n)*?  name: (\S+)`)
)

func render(t *testing.T, values ...string) manifests {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", "t", chartDir, "--kube-version", kubeVersion}, setArgs(values)...)...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", values, err, out)
	}
	m := manifests{}
	for _, doc := range strings.Split(out, "\n---\n") {
		k, n := kindRE.FindStringSubmatch(doc), nameRE.FindStringSubmatch(doc)
		if k == nil || n == nil {
			continue
		}
		m[k[1]+"/"+n[1]] = doc
	}
	return m
}

func (m manifests) get(t *testing.T, id string) string {
	t.Helper()
	doc, ok := m[id]
	if !ok {
		t.Fatalf("no %s in the render; have %v", id, m.ids())
	}
	return doc
}

func (m manifests) ids() []string {
	var ids []string
	for id := range m {
		ids = append(ids, id)
	}
	return ids
}

// mustMatch asserts each pattern (a regexp, multi-line mode) in doc.
func mustMatch(t *testing.T, what, doc string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile("(?m)" + p).MatchString(doc) {
			t.Errorf("%s lacks %q:\n%s", what, p, doc)
		}
	}
}

func mustNotMatch(t *testing.T, what, doc string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if regexp.MustCompile("(?m)" + p).MatchString(doc) {
			t.Errorf("%s has %q:\n%s", what, p, doc)
		}
	}
}

func TestLint(t *testing.T) {
	out, err := runHelm(t, append([]string{"lint", "--strict", chartDir, "--kube-version", kubeVersion}, setArgs(required)...)...)
	if err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
}

// TestSecureDefaults renders the chart with only the required values and
// checks every security setting the defaults promise.
func TestSecureDefaults(t *testing.T) {
	m := render(t, required...)
	dep := m.get(t, "Deployment/t-gatehouse")
	mustMatch(t, "Deployment", dep,
		// Pod and container security contexts.
		`^        runAsNonRoot: true$`,
		`^        runAsUser: 65532$`,
		`^        seccompProfile:\n          type: RuntimeDefault$`,
		`^            allowPrivilegeEscalation: false$`,
		`^            readOnlyRootFilesystem: true$`,
		`^            privileged: false$`,
		`^            capabilities:\n              drop:\n              - ALL$`,
		`^            runAsNonRoot: true$`,
		`^            seccompProfile:\n              type: RuntimeDefault$`,
		`^      automountServiceAccountToken: false$`,
		// Resources.
		`^          resources:\n            limits:\n              cpu: .+\n              memory: .+\n            requests:\n              cpu: .+\n              memory: .+$`,
		// Probes.
		`^          livenessProbe:\n            httpGet:\n              path: /_health$`,
		`^          readinessProbe:\n            httpGet:\n              path: /_readyz$`,
		// SECRET_KEY (and its fallbacks) from the Secret, never a value.
		`- name: SECRET_KEY\n\s+valueFrom:\n\s+secretKeyRef:\n\s+name: gatehouse-key\n\s+key: key$`,
		`- name: SECRET_KEY_FALLBACKS\n\s+valueFrom:\n\s+secretKeyRef:\n\s+name: gatehouse-key\n\s+key: fallbacks\n\s+optional: true$`,
		// Cookies, proxies, metrics.
		`- name: SECURE_COOKIES\n\s+value: "true"$`,
		`- name: IS_BEHIND_PROXY\n\s+value: "true"$`,
		`- name: TRUSTED_PROXIES\n\s+value: "10.42.0.0/16"$`,
		`- name: METRICS_ADDR\n\s+value: "0.0.0.0:9102"$`,
		`- name: metrics\n\s+containerPort: 9102$`,
		// Writable places: /tmp and /data only, as volumes.
		`- name: tmp\n\s+mountPath: /tmp$`,
		`- name: data\n\s+mountPath: /data$`,
		`- name: tmp\n\s+emptyDir:`,
		`persistentVolumeClaim:\n\s+claimName: t-gatehouse-data$`,
		`^    type: Recreate$`,
	)
	mustNotMatch(t, "Deployment", dep, `name: SECRET_KEY\n\s+value:`, `(?i)privileged: true`, `hostNetwork`, `hostPath`)

	svc := m.get(t, "Service/t-gatehouse")
	mustMatch(t, "Service", svc, `targetPort: http$`)
	mustNotMatch(t, "public Service", svc, `metrics`, `9102`)
	if _, ok := m["Service/t-gatehouse-metrics"]; ok {
		t.Error("a metrics Service is rendered by default")
	}

	np := m.get(t, "NetworkPolicy/t-gatehouse")
	mustMatch(t, "NetworkPolicy", np, `policyTypes: \[Ingress, Egress\]`,
		`- ports:\n\s+- port: metrics\n\s+protocol: TCP\n\s+from:\n\s+- namespaceSelector:`,
		`- port: 53\n\s+protocol: UDP`)
	mustMatch(t, "PodDisruptionBudget", m.get(t, "PodDisruptionBudget/t-gatehouse"), `maxUnavailable: 1`)
	mustMatch(t, "ServiceAccount", m.get(t, "ServiceAccount/t-gatehouse"), `^automountServiceAccountToken: false$`)
	mustMatch(t, "PersistentVolumeClaim", m.get(t, "PersistentVolumeClaim/t-gatehouse-data"), `helm.sh/resource-policy: keep`)
	if _, ok := m["HorizontalPodAutoscaler/t-gatehouse"]; ok {
		t.Error("an HPA is rendered by default")
	}
	if _, ok := m["Secret/t-gatehouse-secret-key"]; ok {
		t.Error("a key Secret is created although existingSecret is set")
	}
}

// TestRefusesUnsafeValues: each missing or unsafe setting stops the render
// with a message that names it.
func TestRefusesUnsafeValues(t *testing.T) {
	without := func(prefix string) []string {
		var out []string
		for _, v := range required {
			if !strings.HasPrefix(v, prefix) {
				out = append(out, v)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		values []string
		want   string
	}{
		{"no secret key", without("secretKey."), "secretKey: set secretKey.existingSecret"},
		{"short secret key", append(without("secretKey."), "secretKey.value=tooshort"), "shorter than 32"},
		{"placeholder key", append(without("secretKey."), "secretKey.value=<randomly generated secret key>"), "placeholder"},
		{"no site URL", without("siteUrl"), "siteUrl: set the public"},
		{"http site URL with secure cookies", append(without("siteUrl"), "siteUrl=http://auth.example.com"), "is http://"},
		{"proxy without trusted proxies", without("proxy."), "proxy.trustedProxies"},
		{"SQLite with replicas", append(required, "replicaCount=2"), "needs PostgreSQL"},
		{"SQLite with autoscaling", append(required, "autoscaling.enabled=true"), "needs PostgreSQL"},
		{"STARTTLS and SSL", append(required, "email.host=smtp.example.com", "email.useSSL=true"), "mutually exclusive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runHelm(t, append([]string{"template", "t", chartDir, "--kube-version", kubeVersion}, setArgs(tc.values)...)...)
			if err == nil {
				t.Fatalf("rendered with %v", tc.values)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("error lacks %q:\n%s", tc.want, out)
			}
			if strings.Contains(out, "tooshort") {
				t.Fatal("the error repeats the key")
			}
		})
	}
	// Nothing at all: refused too (helm install with no values).
	out, err := runHelm(t, "template", "t", chartDir, "--kube-version", kubeVersion)
	if err == nil || !strings.Contains(out, "secretKey") {
		t.Fatalf("bare render: %v %s", err, out)
	}
}

// TestPostgresAndAutoscaling: on PostgreSQL the chart scales out: HPA, no
// fixed replica count, rolling updates, no PVC, and URLs only in Secrets.
func TestPostgresAndAutoscaling(t *testing.T) {
	const dbURL = "postgres://gatehouse:db-password-xyz@db:5432/gatehouse"
	m := render(t, append(required, "database.url="+dbURL, "redis.existingSecret=redis", "autoscaling.enabled=true",
		"metrics.service.enabled=true", "allowedIpBlocks=10.0.0.0/8\\,192.168.1.0/24")...)
	dep := m.get(t, "Deployment/t-gatehouse")
	mustMatch(t, "Deployment", dep,
		`- name: DATABASE_URL\n\s+valueFrom:\n\s+secretKeyRef:\n\s+name: t-gatehouse-urls\n\s+key: database-url$`,
		`- name: REDIS_URL\n\s+valueFrom:\n\s+secretKeyRef:\n\s+name: redis\n\s+key: redis-url$`,
		`- name: ALLOWED_IP_BLOCKS\n\s+value: "10.0.0.0/8,192.168.1.0/24"$`,
		`- name: data\n\s+emptyDir:`)
	mustNotMatch(t, "Deployment", dep, `^  replicas:`, `Recreate`, `persistentVolumeClaim`, `db-password-xyz`)
	if _, ok := m["PersistentVolumeClaim/t-gatehouse-data"]; ok {
		t.Error("a PVC is rendered on PostgreSQL")
	}
	mustMatch(t, "HPA", m.get(t, "HorizontalPodAutoscaler/t-gatehouse"), `minReplicas: 2`, `name: t-gatehouse$`)
	secret := m.get(t, "Secret/t-gatehouse-urls")
	mustMatch(t, "URL Secret", secret, `database-url: `+regexp.QuoteMeta(base64.StdEncoding.EncodeToString([]byte(dbURL))))
	mustNotMatch(t, "URL Secret", secret, `db-password-xyz`)
	// The metrics Service is separate and internal; the public one still
	// has no metrics port.
	mustMatch(t, "metrics Service", m.get(t, "Service/t-gatehouse-metrics"), `type: ClusterIP`, `targetPort: metrics`)
	mustNotMatch(t, "public Service", m.get(t, "Service/t-gatehouse"), `metrics`)
}

// TestGeneratedSecretKey: generate=true creates a Secret with a random
// 64-character key, kept on uninstall; value=… stores that key.
func TestGeneratedSecretKey(t *testing.T) {
	base := []string{"siteUrl=https://auth.example.com", "proxy.trustedProxies=10.42.0.0/16"}
	m := render(t, append(base, "secretKey.generate=true")...)
	sec := m.get(t, "Secret/t-gatehouse-secret-key")
	mustMatch(t, "Secret", sec, `helm.sh/resource-policy: keep`)
	key := regexp.MustCompile(`(?m)^  key: (\S+)$`).FindStringSubmatch(sec)
	if key == nil {
		t.Fatalf("no key in:\n%s", sec)
	}
	raw, err := base64.StdEncoding.DecodeString(key[1])
	if err != nil || len(raw) != 64 {
		t.Fatalf("generated key: %d bytes, %v", len(raw), err)
	}
	mustMatch(t, "Deployment", m.get(t, "Deployment/t-gatehouse"), `secretKeyRef:\n\s+name: t-gatehouse-secret-key\n\s+key: key$`)

	const given = "0123456789abcdef0123456789abcdef0123456789abcdef"
	m = render(t, append(base, "secretKey.value="+given)...)
	mustMatch(t, "Secret", m.get(t, "Secret/t-gatehouse-secret-key"), `key: `+regexp.QuoteMeta(base64.StdEncoding.EncodeToString([]byte(given))))
	mustNotMatch(t, "Deployment", m.get(t, "Deployment/t-gatehouse"), given)
}

func TestMetricsOff(t *testing.T) {
	m := render(t, append(required, "metrics.enabled=false")...)
	dep := m.get(t, "Deployment/t-gatehouse")
	mustNotMatch(t, "Deployment", dep, `METRICS_ADDR`, `containerPort: 9102`, `prometheus.io`)
	mustNotMatch(t, "NetworkPolicy", m.get(t, "NetworkPolicy/t-gatehouse"), `port: metrics`)
}

// TestGracefulShutdown: the pod sleeps before SIGTERM so load balancers
// stop sending it requests, Gatehouse gets its grace period as
// SHUTDOWN_GRACE, and Kubernetes waits for both before killing it.
func TestGracefulShutdown(t *testing.T) {
	for _, tc := range []struct {
		values      []string
		sleep, wait string
		grace       string
	}{
		{nil, "5", "35", "25"},
		{[]string{"shutdown.preStopSleepSeconds=10", "shutdown.graceSeconds=50"}, "10", "65", "50"},
	} {
		dep := render(t, append(append([]string{}, required...), tc.values...)...).get(t, "Deployment/t-gatehouse")
		mustMatch(t, "Deployment", dep,
			`^          lifecycle:\n\s+# .*\n\s+preStop:\n\s+sleep:\n\s+seconds: `+tc.sleep+`$`,
			`^      terminationGracePeriodSeconds: `+tc.wait+`$`,
			`- name: SHUTDOWN_GRACE\n\s+value: "`+tc.grace+`"$`)
	}
}
