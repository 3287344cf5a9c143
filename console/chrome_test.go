package console_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-authz/gatehouse/console/oidctest"
)

// The browser tests drive the console in a headless Chromium through
// chromedp: they click its buttons and links, fill its fields by their
// labels and read what its pages show, as a person would.

// Environment variables the browser tests read.
const (
	// envChrome names the Chromium (or Chrome) binary to run; unset, the
	// tests look for chromedp's usual names on PATH.
	envChrome = "GATEHOUSE_CHROME"
	// envScreenshots, when set, is the directory the tests save a
	// full-page PNG of each main page in.
	envScreenshots = "GATEHOUSE_SCREENSHOTS"
)

// Timeouts: one step (a click and the page it loads, a field, a read) and
// the start of the browser. A step is a few milliseconds; the bound is for
// a shared, busy CI machine.
const (
	stepTimeout  = 15 * time.Second
	startTimeout = 30 * time.Second
)

// The viewports: a laptop's, and a phone's for the one small-screen shot.
const (
	laptopWidth, laptopHeight = 1280, 800
	phoneWidth, phoneHeight   = 390, 844
)

// chromeNames are the binaries chromedp looks for on Linux, in its order.
var chromeNames = []string{
	"headless_shell", "headless-shell", "chromium", "chromium-browser",
	"google-chrome", "google-chrome-stable", "google-chrome-beta",
	"google-chrome-unstable", "chrome",
}

// findChrome returns the browser to run: $GATEHOUSE_CHROME, or the first of
// chromedp's names on PATH. Without one the test skips, and fails under
// CI=true, which must never skip it.
func findChrome(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(envChrome); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("%s=%s: %v", envChrome, p, err)
		}
		return found
	}
	for _, name := range chromeNames {
		if found, err := exec.LookPath(name); err == nil {
			return found
		}
	}
	msg := "no Chromium found: install Debian's chromium package (apt-get install chromium), or set " + envChrome + " to a Chrome or Chromium binary"
	if os.Getenv("CI") == "true" {
		t.Fatalf("browser tests: %s (CI=true: not skipping)", msg)
	}
	t.Skipf("browser tests: skipping: %s (set CI=true to fail instead)", msg)
	return ""
}

// signIn returns the steps by which user:<id> signs in to the console
// served at base, in a tab of their own, ending on a page that shows them
// signed in. The walks take it as a parameter, so each runs with any way
// of signing in.
type signIn func(base, id string) chromedp.Action[chromedp.Void]

// devSignIn signs in through the development sign-in: the button that
// names the user on the sign-in page.
func devSignIn(base, id string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/console/login"),
		waitLoad(chromedp.Click(button("Sign in as "+id))),
		chromedp.WaitVisible(signedInAs(id)),
	)
}

// oidcSignIn signs in through OpenID Connect: the sign-in page's "Sign in
// with Test ID" link, then the in-process provider's own login form (see
// oidctest), which sends the browser back to the console's callback.
func oidcSignIn(base, id string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/console/login"),
		waitLoad(chromedp.Click(control("Sign in with Test ID"))),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), id),
		chromedp.SendKeys(chromedp.CSS("#password"), oidctest.Password),
		waitLoad(chromedp.Click(button("Login"))),
		chromedp.WaitVisible(signedInAs(id)),
	)
}

// signedInAs selects the header's "Signed in as user:<id>".
func signedInAs(id string) chromedp.Search {
	return xpath(`//header//strong[normalize-space(.)=%s]`, "user:"+id)
}

// chrome is one headless Chromium for a test. Each person in a walk has a
// browser context of their own in it (their own cookies, as on their own
// machine) and a tab in that context.
type chrome struct {
	ctx    context.Context
	signIn signIn
	// shots is $GATEHOUSE_SCREENSHOTS, or "" to save none.
	shots string
}

// mustChrome starts a headless Chromium that signs people in with signIn,
// or skips the test when there is none (fails under CI=true).
func mustChrome(t *testing.T, signIn signIn) *chrome {
	t.Helper()
	path := findChrome(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(laptopWidth, laptopHeight),
		// Nothing leaves loopback: no updates, pings, field trials,
		// safe-browsing or other calls home, no proxy, and no host name
		// resolves but the test server's address.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-field-trial-config", true),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,MediaRouter,OptimizationHints,AutofillServerCommunication,CertificateTransparencyComponentUpdater"),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-gpu", true),
	)
	// Chromium's sandbox refuses to start as root (a CI container); as
	// anyone else it stays on.
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, which lives as long as ctx: the
	// start has its own bound, in a goroutine, never a timeout on ctx.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting %s: %v", path, err)
		}
	case <-time.After(startTimeout):
		t.Fatalf("starting %s: no answer in %s", path, startTimeout)
	}
	c := &chrome{ctx: ctx, signIn: signIn, shots: os.Getenv(envScreenshots)}
	if c.shots != "" {
		if err := os.MkdirAll(c.shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// tab is one person's tab, signed in to one gate's console.
type tab struct {
	t   *testing.T
	c   *chrome
	g   *gate
	who string
	ctx context.Context
}

// as opens a tab in a new browser context (no cookies shared with anyone
// else's) and signs user:<id> in to g's console in it.
func (c *chrome) as(t *testing.T, g *gate, id string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(c.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &tab{t: t, c: c, g: g, who: id, ctx: ctx}
	p.attach()
	p.do("signing in", c.signIn(g.URL, id))
	return p
}

// attach opens the tab. The first run on a tab's context binds the tab to
// the context it is given, so it gets the tab's own, never a step's
// timeout; the browser already runs, so it is quick.
func (p *tab) attach() {
	p.t.Helper()
	if err := chromedp.Do(p.ctx); err != nil {
		p.t.Fatalf("opening a tab for user:%s: %v", p.who, err)
	}
}

// do runs steps within stepTimeout; on an error the test stops, saying
// what it was doing, where the tab was and what the page showed.
func (p *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fatalf("%s: %v", what, err)
	}
}

// fatalf stops the test with where the tab was and what it showed, and,
// with screenshots on, a screenshot of it.
func (p *tab) fatalf(format string, args ...any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	where, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"), chromedp.NodeReady))
	if p.c.shots != "" {
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			name := "failed-" + regexp.MustCompile(`\W+`).ReplaceAllString(p.t.Name(), "-") + ".png"
			_ = os.WriteFile(filepath.Join(p.c.shots, name), png, 0o644) //nolint:gosec // a screenshot is no secret
		}
	}
	p.t.Fatalf("user:%s at %s: %s\npage text:\n%s", p.who, where, fmt.Sprintf(format, args...), text)
}

// open goes to the console page at path (e.g. "/console/"), as a person
// typing an address: used only where the console offers no link.
func (p *tab) open(path string) {
	p.t.Helper()
	p.do("opening "+path, chromedp.Navigate(p.g.URL+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// click clicks the button or link whose text or accessible name is name,
// waits for the page it loads and returns that page's HTTP status.
func (p *tab) click(name string) int {
	p.t.Helper()
	return p.load("clicking "+name, control(name))
}

// load clicks sel and waits for the page it loads: its status, after
// redirects.
func (p *tab) load(what string, sel chromedp.Search) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err == nil && resp == nil {
		err = errors.New("no page loaded")
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("main h1")))
	}
	if err != nil {
		p.fatalf("%s: %v", what, err)
	}
	return int(resp.Status)
}

// form is one form of a tab's page, found by its accessible name (its
// aria-label, or the text of the heading its aria-labelledby names): a
// page has several fields labelled alike ("Reason ...").
type form struct {
	p    *tab
	name string
	sel  chromedp.Search
}

// form returns the page's form named name.
func (p *tab) form(name string) form {
	return form{p: p, name: name, sel: xpath(`//form[@aria-label=%[1]s or @aria-labelledby=//*[normalize-space(.)=%[1]s]/@id]`, name)}
}

// field selects the form's field whose label (a <label for>) reads label.
func (f form) field(label string) chromedp.Search {
	return f.sel + xpath(`//*[@id=//label[normalize-space(.)=%s]/@for]`, label)
}

// fill replaces the value of the field labelled label by typing value.
func (f form) fill(label, value string) {
	f.p.t.Helper()
	sel := f.field(label)
	f.p.do(f.name+": filling "+label, chromedp.Clear(sel), empty(sel), chromedp.SendKeys(sel, value))
}

// empty empties the field sel of what was typed in it too: chromedp.Clear
// empties only its value attribute, which a field typed in no longer shows.
func empty(sel chromedp.Search) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const e = document.evaluate(`+jsString(string(sel))+`, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
			if (!e) return false;
			e.value = '';
			return true })()`))
		if err == nil && !found {
			err = fmt.Errorf("no field %s", sel)
		}
		return chromedp.Void{}, err
	}
}

// write types value after what the field labelled label holds (a
// textarea's first words, say).
func (f form) write(label, value string) {
	f.p.t.Helper()
	f.p.do(f.name+": writing in "+label, chromedp.SendKeys(f.field(label), value))
}

// choose picks option value of the drop-down labelled label.
func (f form) choose(label, value string) {
	f.p.t.Helper()
	f.p.do(f.name+": choosing "+value+" for "+label, chromedp.SetValue(f.field(label), value))
}

// submit clicks the form's button named name, like tab.click.
func (f form) submit(name string) int {
	f.p.t.Helper()
	return f.p.load(f.name+": clicking "+name, f.sel+button(name))
}

// text returns the text of the page's main part as a reader sees it,
// white space collapsed.
func (p *tab) text() string {
	p.t.Helper()
	return p.read("the page", "//main")
}

// shows fails the test unless the page shows every one of s.
func (p *tab) shows(s ...string) {
	p.t.Helper()
	text := p.text()
	for _, x := range s {
		if !strings.Contains(text, x) {
			p.t.Errorf("user:%s: the page does not show %q:\n%s", p.who, x, text)
		}
	}
}

// lacks fails the test when the page shows any of s.
func (p *tab) lacks(s ...string) {
	p.t.Helper()
	text := p.text()
	for _, x := range s {
		if strings.Contains(text, x) {
			p.t.Errorf("user:%s: the page shows %q:\n%s", p.who, x, text)
		}
	}
}

// title returns the page's heading.
func (p *tab) title() string {
	p.t.Helper()
	return p.read("the heading", "//main/h1")
}

// row returns the text of the table row whose header is name, or starts
// with name and a space.
func (p *tab) row(name string) string {
	p.t.Helper()
	return p.read("the row of "+name, xpath(`//tr[th[normalize-space(.)=%[1]s or starts-with(normalize-space(.), concat(%[1]s, " "))]]`, name))
}

// read returns the text of the element sel, white space collapsed.
func (p *tab) read(what string, sel chromedp.Search) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		p.fatalf("reading %s: %v", what, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// reload loads the tab's page again.
func (p *tab) reload() {
	p.t.Helper()
	p.do("reloading", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// shot saves a full-page PNG of the tab as <name>.png in
// $GATEHOUSE_SCREENSHOTS, when that is set.
func (p *tab) shot(name string) {
	p.t.Helper()
	if p.c.shots == "" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(p.c.shots, name+".png"), png, 0o644); err != nil { //nolint:gosec // a screenshot is no secret
		p.t.Fatal(err)
	}
}

// phoneShot saves a full-page PNG of the page at path as a phone shows it
// (390x844, mobile), in a second tab of the same person, when
// $GATEHOUSE_SCREENSHOTS is set.
func (p *tab) phoneShot(name, path string) {
	p.t.Helper()
	if p.c.shots == "" {
		return
	}
	p.phone(path).shot(name)
}

// phone opens path in a second tab of the same person, as a phone shows
// it (390x844, mobile); the tab closes when the test ends.
func (p *tab) phone(path string) *tab {
	p.t.Helper()
	ctx, cancel := chromedp.NewContext(p.ctx)
	p.t.Cleanup(cancel)
	phone := &tab{t: p.t, c: p.c, g: p.g, who: p.who, ctx: ctx}
	phone.attach()
	phone.do("emulating a phone", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile))
	phone.open(path)
	return phone
}

// waitLoad runs steps (a click) and waits until the page they load has
// loaded; a step that loads no page times out.
func waitLoad(steps ...chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		resp, err := chromedp.RunResponse(ctx, steps...)
		if err == nil && resp == nil {
			err = errors.New("no page loaded")
		}
		return chromedp.Void{}, err
	}
}

// button selects the button whose text or accessible name is name.
func button(name string) chromedp.Search {
	return xpath(`//button[normalize-space(.)=%[1]s or @aria-label=%[1]s]`, name)
}

// control selects the button or link whose text or accessible name is name.
func control(name string) chromedp.Search {
	return xpath(`//*[(self::button or self::a) and (normalize-space(.)=%[1]s or @aria-label=%[1]s)]`, name)
}

// xpath formats an XPath query, quoting each argument as an XPath string.
func xpath(format string, args ...string) chromedp.Search {
	quoted := make([]any, len(args))
	for i, a := range args {
		quoted[i] = xpathString(a)
	}
	return chromedp.Search(fmt.Sprintf(format, quoted...))
}

// xpathString quotes s as an XPath 1.0 string literal, which has no escapes.
func xpathString(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	parts := strings.Split(s, `"`)
	for i := range parts {
		parts[i] = `"` + parts[i] + `"`
	}
	return "concat(" + strings.Join(parts, `, '"', `) + ")"
}
