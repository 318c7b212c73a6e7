package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/cventpush"
)

// BigSyncBody is an AttendeeManualSynced delivery of N realistic attendee
// items, shaped like shared/cvent/samples/invitee_accepted.json with every
// field Cvent fills for a real registration (status, custom fields, the
// event summary, an order, work address, phones, dates, sessions): 1.8–1.95
// KB an item, 1.85 KB on average. It is never held whole: WriteTo and Body produce it
// item by item from a seed, so a 190 MB body costs the sender one buffer.
// The same generator always produces the same bytes, so Len is known before
// anything is sent.
type BigSyncBody struct {
	N           int
	seed        uint64
	idPrefix    string // the first three groups of every invitee id of this body: unique per body
	eventStub   string
	accountStub string
	messageStub string
	messageTime string
	base        time.Time // registrations happen in the 200 days before it
	sessions    []string

	lenOnce sync.Once
	length  int64
}

// NewBigSyncBody makes the generator of an n-attendee manual sync. Bodies
// with different seeds have different invitee ids.
func NewBigSyncBody(n int, seed uint64) *BigSyncBody {
	r := splitmix(seed)
	g := &BigSyncBody{
		N:           n,
		seed:        seed,
		idPrefix:    fmt.Sprintf("%08X-%04X-4%03X", uint32(r.next()), uint16(r.next()), uint16(r.next())&0xfff),
		eventStub:   strings.ToUpper(uuidFrom(&r)),
		accountStub: strings.ToUpper(uuidFrom(&r)),
		messageStub: uuidFrom(&r),
		base:        time.Now().UTC().Add(-time.Hour).Truncate(time.Second),
	}
	g.messageTime = g.base.Add(time.Hour).Format("2006-01-02T15:04:05.000Z")
	for range 24 {
		g.sessions = append(g.sessions, strings.ToUpper(uuidFrom(&r)))
	}
	return g
}

// InviteeID is the i-th attendee's id as Cvent sends it (upper case): the
// body's prefix and i, so ids are unique within a body.
func (g *BigSyncBody) InviteeID(i int) string {
	return fmt.Sprintf("%s-%04X-%012X", g.idPrefix, 0x8000|uint16(g.seed)&0x3fff, i)
}

// Status is the i-th attendee's inviteeStatus: the scenarios' mix (statuses.go).
func (g *BigSyncBody) Status(i int) string { return mixStatus(i) }

// MessageStub is the delivery's messageStub.
func (g *BigSyncBody) MessageStub() string { return g.messageStub }

// The envelope: eventType first, messageStub and messageTime after the
// items, as Cvent sometimes orders them: the gateway learns the stub only at
// the end of the body.
func (g *BigSyncBody) head() string {
	return `{"eventType":"` + cventpush.AttendeeManualSynced + `","message":[`
}

func (g *BigSyncBody) tail() string {
	return `],"messageStub":"` + g.messageStub + `","messageTime":"` + g.messageTime + `"}`
}

// WriteTo writes the whole body to w in pieces of about 64 KiB.
func (g *BigSyncBody) WriteTo(w io.Writer) (int64, error) {
	const flushAt = 60 << 10
	buf := make([]byte, 0, 64<<10)
	var total int64
	flush := func() error {
		n, err := w.Write(buf)
		total += int64(n)
		buf = buf[:0]
		return err
	}
	buf = append(buf, g.head()...)
	for i := 0; i < g.N; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = g.AppendItem(buf, i)
		if len(buf) >= flushAt {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	buf = append(buf, g.tail()...)
	return total, flush()
}

// Len is the body's size in bytes, found once by a dry run through a
// counting writer.
func (g *BigSyncBody) Len() int64 {
	g.lenOnce.Do(func() {
		var c countingWriter
		_, _ = g.WriteTo(&c)
		g.length = c.n
	})
	return g.length
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// Body streams the body through a pipe from a writer goroutine; closing it
// early stops the goroutine.
func (g *BigSyncBody) Body() io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		_, err := g.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	return pr
}

// Pools the items draw from. Names carry accents and apostrophes as real
// registrations do; each has the ASCII spelling its e-mail address uses.
var (
	bigFirstNames = [][2]string{{"Amara", "amara"}, {"Lin", "lin"}, {"Sofia", "sofia"}, {"Theo", "theo"}, {"Mateo", "mateo"},
		{"Priya", "priya"}, {"Jonas", "jonas"}, {"Aiko", "aiko"}, {"Chloé", "chloe"}, {"José", "jose"}, {"Zoë", "zoe"},
		{"Łukasz", "lukasz"}, {"Siobhán", "siobhan"}, {"Oluwaseun", "oluwaseun"}, {"Hannah", "hannah"}, {"Rahul", "rahul"},
		{"Ingrid", "ingrid"}, {"Kwame", "kwame"}, {"Mei", "mei"}, {"Diego", "diego"}, {"Fatima", "fatima"}, {"Noah", "noah"},
		{"Elif", "elif"}, {"Sven", "sven"}, {"Ananya", "ananya"}, {"Björn", "bjorn"}, {"Camille", "camille"},
		{"Dmitri", "dmitri"}, {"Leilani", "leilani"}, {"Tomás", "tomas"}, {"Margaret", "margaret"}, {"Christopher", "christopher"}}
	bigLastNames = [][2]string{{"Okafor", "okafor"}, {"Zhao", "zhao"}, {"Marquez", "marquez"}, {"Nguyễn", "nguyen"},
		{"Müller", "mueller"}, {"O'Brien", "obrien"}, {"Kowalski", "kowalski"}, {"Haddad", "haddad"}, {"Tanaka", "tanaka"},
		{"Schmidt", "schmidt"}, {"Rossi", "rossi"}, {"Andersson", "andersson"}, {"Patel", "patel"}, {"García", "garcia"},
		{"Dubois", "dubois"}, {"Kim", "kim"}, {"Mensah", "mensah"}, {"Novak", "novak"}, {"Fitzgerald", "fitzgerald"},
		{"Silva", "silva"}, {"Ivanova", "ivanova"}, {"Johansson", "johansson"}, {"Chen", "chen"}, {"Abdullah", "abdullah"},
		{"Moreau", "moreau"}, {"Yamamoto", "yamamoto"}, {"Byrne", "byrne"}, {"Costa", "costa"}, {"Nakamura", "nakamura"},
		{"Whitfield-Hargreaves", "whitfield-hargreaves"}}
	bigMiddleNames = []string{"", "", "", "", "A.", "J.", "Marie", "Lee", "R."}
	bigPrefixes    = []string{"", "", "Mr.", "Ms.", "Dr.", "Mx.", "Prof."}
	bigCompanies   = [][2]string{{"Northwind Labs", "northwind.example"}, {"Contoso Ltd", "contoso.example"},
		{"Fabrikam, Inc.", "fabrikam.example"}, {"Adventure Works Cycles", "adventure-works.example"},
		{"Tailspin Toys", "tailspintoys.example"}, {"Wide World Importers", "wideworldimporters.example"},
		{"Litware Systems", "litware.example"}, {"Woodgrove Bank", "woodgrovebank.example"},
		{"Alpine Ski House", "alpineskihouse.example"}, {"Margie's Travel", "margiestravel.example"},
		{"Trey Research", "treyresearch.example"}, {"Blue Yonder Airlines", "blueyonder.example"},
		{"Lucerne Publishing", "lucernepublishing.example"}, {"Fourth Coffee", "fourthcoffee.example"},
		{"Humongous Insurance", "humongousinsurance.example"}, {"City Power & Light", "cpandl.example"}}
	bigTitles = []string{"Director of Research", "Senior Software Engineer", "VP, Marketing", "Head of Partnerships",
		"Product Manager", "Chief Technology Officer", "Data Scientist", "Event Coordinator", "Account Executive",
		"Senior Consultant", "Operations Manager", "UX Researcher", "Procurement Lead", "Solutions Architect"}
	bigLocations = []struct {
		City, State, Country, Postal, Phone string
	}{
		{"Austin", "Texas", "United States", "787%02d", "+1 512 555 %04d"},
		{"Chicago", "Illinois", "United States", "606%02d", "+1 312 555 %04d"},
		{"Seattle", "Washington", "United States", "981%02d", "+1 206 555 %04d"},
		{"Toronto", "Ontario", "Canada", "M5V %d", "+1 416 555 %04d"},
		{"London", "England", "United Kingdom", "EC1A %dBB", "+44 20 7946 %04d"},
		{"Berlin", "Berlin", "Germany", "101%02d", "+49 30 9018 %04d"},
		{"Paris", "Île-de-France", "France", "750%02d", "+33 1 7036 %04d"},
		{"São Paulo", "São Paulo", "Brazil", "01310-%03d", "+55 11 5555 %04d"},
		{"Singapore", "Singapore", "Singapore", "0189%02d", "+65 6555 %04d"},
		{"Sydney", "New South Wales", "Australia", "20%02d", "+61 2 5550 %04d"},
	}
	bigStreets     = []string{"Congress Avenue", "Market Street", "King Street West", "Friedrichstraße", "Rue de Rivoli", "Avenida Paulista", "George Street", "Main Street"}
	bigRegTypes    = []string{"General Attendee", "General Attendee", "EMEA Track", "Atlantic Track", "VIP", "Speaker", "Exhibitor", "Press", "Student"}
	bigAdmission   = [][2]string{{"Full Conference", "1295.00"}, {"Two-Day Pass", "895.00"}, {"Expo Only", "195.00"}, {"Virtual Pass", "0.00"}}
	bigDietary     = []string{"None", "None", "None", "Vegetarian", "Vegan", "Gluten-free", "Halal", "Kosher", "Nut allergy"}
	bigShirts      = []string{"XS", "S", "M", "M", "L", "L", "XL", "XXL"}
	bigMethods     = []string{"Online", "Online", "Online", "Imported", "Planner"}
	bigConfirmChar = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
)

// Custom field ids, as Cvent gives them: one per question of the event.
const (
	cfDietary = "5A0C7E11-2B9D-4C3A-8E1F-7D6C5B4A3F21"
	cfShirt   = "9B8A7C6D-5E4F-4A3B-2C1D-0E9F8A7B6C5D"
)

// AppendItem appends the i-th attendee item, compact JSON, to b.
func (g *BigSyncBody) AppendItem(b []byte, i int) []byte {
	r := splitmix(g.seed ^ (uint64(i)+1)*0x9E3779B97F4A7C15)
	first, last := bigFirstNames[r.intn(len(bigFirstNames))], bigLastNames[r.intn(len(bigLastNames))]
	middle := bigMiddleNames[r.intn(len(bigMiddleNames))]
	company := bigCompanies[r.intn(len(bigCompanies))]
	loc := bigLocations[r.intn(len(bigLocations))]
	home := bigLocations[r.intn(len(bigLocations))]
	if r.intn(4) > 0 {
		home = loc
	}
	status := g.Status(i)
	registered := g.base.Add(-time.Duration(r.intn(200*24*3600)) * time.Second)
	updated := registered.Add(time.Duration(r.intn(int(g.base.Sub(registered)/time.Second)+1)) * time.Second)
	admission := bigAdmission[r.intn(len(bigAdmission))]

	b = append(b, '{')
	b = jsonField(b, "inviteeStub", g.InviteeID(i))
	b = jsonField(b, "contactStub", strings.ToUpper(uuidFrom(&r)))
	b = jsonField(b, "contactSourceId", "")
	b = jsonField(b, "eventStub", g.eventStub)
	b = jsonField(b, "accountStub", g.accountStub)
	b = jsonField(b, "inviteeStatus", status)
	b = jsonRaw(b, "participantStatus", "false")
	b = jsonRaw(b, "isGuest", "false")
	b = jsonField(b, "prefix", bigPrefixes[r.intn(len(bigPrefixes))])
	b = jsonField(b, "firstName", first[0])
	b = jsonField(b, "middleName", middle)
	b = jsonField(b, "lastName", last[0])
	b = jsonField(b, "fullName", first[0]+" "+last[0])
	b = jsonField(b, "nickName", "")
	b = jsonField(b, "title", bigTitles[r.intn(len(bigTitles))])
	b = jsonField(b, "company", company[0])
	b = jsonField(b, "designation", "")
	b = jsonField(b, "gender", "")
	b = jsonFieldf(b, "email", "%s.%s.%d@%s", first[1], last[1], i, company[1])
	b = jsonField(b, "ccEmail", "")
	b = jsonFieldf(b, "profileImageUrl", "https://images.example/%08x.png", uint32(r.next()))
	b = jsonFieldf(b, "workPhone", loc.Phone, r.intn(10000))
	b = jsonFieldf(b, "mobilePhone", home.Phone, r.intn(10000))
	b = jsonFieldf(b, "workAddress1", "%d %s", 1+r.intn(2000), bigStreets[r.intn(len(bigStreets))])
	b = jsonField(b, "workCity", loc.City)
	b = jsonField(b, "workState", loc.State)
	b = jsonFieldf(b, "workPostalCode", loc.Postal, r.intn(100))
	b = jsonField(b, "workCountry", loc.Country)
	b = jsonField(b, "contactType", "Attendee")
	b = jsonField(b, "registrationType", bigRegTypes[r.intn(len(bigRegTypes))])
	b = jsonField(b, "admissionItem", admission[0])
	b = jsonField(b, "responseMethod", bigMethods[r.intn(len(bigMethods))])
	b = jsonField(b, "registrationDate", registered.Format("2006-01-02T15:04:05.000"))
	b = jsonField(b, "updatedDate", updated.Format("2006-01-02T15:04:05.000"))
	b = jsonField(b, "confirmationNumber", confirmation(&r))
	b = jsonField(b, "referenceId", "")
	b = jsonField(b, "optedOut", "no")
	b = jsonField(b, "eligibleCredits", "0.00")
	b = jsonField(b, "totalCredits", "0.00")

	b = append(b, `,"sessionStubList":[`...)
	s1 := r.intn(len(g.sessions))
	b = jsonString(b, g.sessions[s1])
	if r.intn(4) == 0 { // a quarter chose a second, different session
		b = append(b, ',')
		b = jsonString(b, g.sessions[(s1+1+r.intn(len(g.sessions)-1))%len(g.sessions)])
	}
	b = append(b, `],"customFields":[`...)
	b = customField(b, cfDietary, "Dietary Requirements", bigDietary[r.intn(len(bigDietary))])
	b = append(b, ',')
	b = customField(b, cfShirt, "T-Shirt Size", bigShirts[r.intn(len(bigShirts))])
	b = append(b, ']')

	b = append(b, `,"eventForInvitee":{`...)
	b = jsonField(b, "eventTitle", "Northwind Summit 2027")
	b = jsonField(b, "eventCode", "R5NP4NJYB3D")
	b = jsonField(b, "eventLocation", "Austin Convention Center")
	b = jsonField(b, "eventStartDate", "2027-05-25 08:00:00.0")
	b = jsonField(b, "eventEndDate", "2027-05-27 18:00:00.0")
	b = jsonField(b, "eventTimeZoneName", "Central Time")
	b = append(b, `,"eventCustomFields":[]}`...)

	b = append(b, `,"orders":[{`...)
	b = jsonFieldf(b, "orderNumber", "%d", 100000+i)
	b = jsonField(b, "orderDate", registered.Format("2006-01-02"))
	b = append(b, `,"orderDetails":[`...)
	b = orderDetail(b, admission[0], admission[1])
	b = append(b, "]}]}"...)
	return b
}

func customField(b []byte, id, name, value string) []byte {
	b = append(b, '{')
	b = jsonField(b, "id", id)
	b = jsonField(b, "name", name)
	b = jsonField(b, "value", value)
	return append(b, '}')
}

func orderDetail(b []byte, product, amount string) []byte {
	b = append(b, '{')
	b = jsonField(b, "productName", product)
	b = jsonField(b, "orderQuantity", "1")
	b = jsonField(b, "orderAmount", amount)
	b = jsonField(b, "paidAmount", amount)
	b = jsonField(b, "orderType", "charge")
	return append(b, '}')
}

func confirmation(r *splitmix64) string {
	var c [11]byte
	for k := range c {
		c[k] = bigConfirmChar[r.intn(len(bigConfirmChar))]
	}
	return string(c[:])
}

// jsonKey appends `,"key":` (without the comma right after an opening brace).
func jsonKey(b []byte, key string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' && b[n-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func jsonField(b []byte, key, value string) []byte { return jsonString(jsonKey(b, key), value) }

func jsonRaw(b []byte, key, raw string) []byte { return append(jsonKey(b, key), raw...) }

// jsonFieldf appends a formatted string value; the format's output must not
// need escaping (digits, ASCII letters, spaces, punctuation but quotes).
func jsonFieldf(b []byte, key, format string, args ...any) []byte {
	b = append(jsonKey(b, key), '"')
	b = fmt.Appendf(b, format, args...)
	return append(b, '"')
}

// jsonString appends s as a JSON string: quotes, backslashes and control
// characters escaped, other UTF-8 as it is (as Cvent sends it).
func jsonString(b []byte, s string) []byte {
	b = append(b, '"')
	if !needsEscape(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	for k := 0; k < len(s); {
		c := s[k]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = fmt.Appendf(b, `\u%04x`, c)
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			_, size := utf8.DecodeRuneInString(s[k:])
			b = append(b, s[k:k+size]...)
			k += size
			continue
		}
		k++
	}
	return append(b, '"')
}

func needsEscape(s string) bool {
	for k := 0; k < len(s); k++ {
		if c := s[k]; c == '"' || c == '\\' || c < 0x20 {
			return true
		}
	}
	return false
}

// splitmix64 is a small deterministic generator: an item is the same
// whenever it is generated, without holding a generator per item.
type splitmix64 struct{ s uint64 }

func splitmix(seed uint64) splitmix64 { return splitmix64{s: seed} }

func (r *splitmix64) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (r *splitmix64) intn(n int) int { return int(r.next() % uint64(n)) }

// uuidFrom is a version-4 UUID from r.
func uuidFrom(r *splitmix64) string {
	var u uuid.UUID
	a, c := r.next(), r.next()
	for k := 0; k < 8; k++ {
		u[k], u[8+k] = byte(a>>(8*k)), byte(c>>(8*k))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}
