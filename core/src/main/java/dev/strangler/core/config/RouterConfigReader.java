package dev.strangler.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strangler.core.TableId;
import dev.strangler.core.Weight;
import dev.strangler.core.config.internal.ConfigNode;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Reads the {@code router:} section; each key declared once, with its default and check (docs/router.md). */
final class RouterConfigReader {

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,62}");
    private static final Pattern HEADER = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]+");
    private static final Set<String> METHODS = Set.of("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE");

    RouterSettings read(ConfigNode n) {
        HttpSettings listen = address(n.object("listen"), "0.0.0.0", 8000);
        HttpSettings admin = address(n.object("admin"), "127.0.0.1", 8001);
        Secret token = Secret.of(n.string("adminToken", ""));
        URI defaultUpstream = upstream(n, "defaultUpstream", true);
        Duration connectTimeout = n.duration("connectTimeout", Duration.ofSeconds(2), Duration.ofMillis(1));
        Duration upstreamTimeout = n.duration("upstreamTimeout", Duration.ofSeconds(30), Duration.ofMillis(1));
        int pool = n.integer("maxConnectionsPerUpstream", 256, 1, 100_000);
        int eventLoops = n.integer("eventLoops", 0, 0, 1024);
        List<RouteSettings> routes = routes(n, defaultUpstream);
        List<URI> lagFrom = new ArrayList<>();
        JsonNode lagList = n.raw("lagFrom");
        if (lagList != null && !lagList.isNull()) {
            if (!lagList.isArray()) {
                n.problem("lagFrom", "must be a list of base URLs, e.g. [http://strangler-data:8080]");
            } else {
                for (JsonNode url : lagList) {
                    try {
                        URI uri = new URI(url.asText());
                        if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
                            n.problem("lagFrom", "'" + url.asText() + "' is not http://host:port");
                        } else {
                            lagFrom.add(uri);
                        }
                    } catch (java.net.URISyntaxException e) {
                        n.problem("lagFrom", "'" + url.asText() + "' is not a URL: " + e.getMessage());
                    }
                }
            }
        }
        n.finish();
        return new RouterSettings(listen, admin, token, defaultUpstream, connectTimeout, upstreamTimeout, pool, eventLoops, routes, lagFrom);
    }

    private static HttpSettings address(ConfigNode n, String host, int port) {
        HttpSettings settings = new HttpSettings(n.string("host", host), n.integer("port", port, 0, 65535));
        n.finish();
        return settings;
    }

    private static URI upstream(ConfigNode n, String key, boolean required) {
        String text = required ? n.requiredString(key, "http://127.0.0.1:9000") : n.string(key, null);
        if (text == null) {
            return null;
        }
        try {
            URI uri = new URI(text.trim());
            if (!"http".equals(uri.getScheme()) || uri.getHost() == null || (uri.getPath() != null && !uri.getPath().isEmpty() && !uri.getPath().equals("/"))
                    || uri.getQuery() != null) {
                n.problem(key, "must be http://host[:port] (no path; the request's path is kept), not '" + text + "'");
                return null;
            }
            return uri;
        } catch (java.net.URISyntaxException e) {
            n.problem(key, "is not a URL: " + e.getMessage());
            return null;
        }
    }

    private static List<RouteSettings> routes(ConfigNode n, URI defaultUpstream) {
        List<RouteSettings> routes = new ArrayList<>();
        if (!n.has("routes")) {
            return routes;
        }
        ConfigNode all = n.object("routes");
        Iterator<Map.Entry<String, JsonNode>> entries = all.entries();
        while (entries.hasNext()) {
            String name = entries.next().getKey();
            if (!NAME.matcher(name).matches()) {
                all.problem(name, "a route name has lower-case letters, digits, '_' and '-' and starts with a letter, not '" + name + "'");
            }
            route(name, all.object(name), defaultUpstream).ifPresent(routes::add);
        }
        return routes;
    }

    private static Optional<RouteSettings> route(String name, ConfigNode r, URI defaultUpstream) {
        RouteSettings.Match match = match(r.object("match"));
        URI monolith = r.has("monolith") ? upstream(r, "monolith", false) : defaultUpstream;
        URI service = upstream(r, "service", true);
        Weight weight = weight(r, "weight", Weight.MONOLITH_ONLY);
        RouteSettings.StickyKey sticky = stickyKey(r);
        RouteSettings.Fallback fallback = r.choice("fallback", RouteSettings.Fallback.CLIENT_ADDRESS,
                RouteSettings.Fallback::configName, RouteSettings.Fallback.values());
        RouteSettings.Cohort canary = cohort(r, "canary");
        RouteSettings.Cohort exclude = cohort(r, "exclude");
        RouteSettings.Shadow shadow = shadow(r.object("shadow"));
        RouteSettings.Gates gates = gates(r.object("gates"));
        List<TableId> tables = new ArrayList<>();
        JsonNode list = r.raw("tables");
        if (list != null && !list.isNull()) {
            if (!list.isArray()) {
                r.problem("tables", "must be a list of monolith tables, e.g. tables: [public.orders]");
            } else {
                for (JsonNode t : list) {
                    try {
                        tables.add(TableId.parse(t.asText()));
                    } catch (IllegalArgumentException e) {
                        r.problem("tables", e.getMessage());
                    }
                }
            }
        }
        r.finish();
        if (match == null || monolith == null || service == null) {
            return Optional.empty();
        }
        return Optional.of(new RouteSettings(name, match, monolith, service, weight, sticky, fallback, canary, exclude, shadow, gates, tables));
    }

    private static RouteSettings.Match match(ConfigNode m) {
        Optional<String> prefix = Optional.ofNullable(m.string("pathPrefix", null));
        Optional<Pattern> pattern = Optional.empty();
        String patternText = m.string("pathPattern", null);
        if (patternText != null) {
            try {
                pattern = Optional.of(Pattern.compile(patternText));
            } catch (PatternSyntaxException e) {
                m.problem("pathPattern", "is not a regular expression: " + e.getDescription() + " near index " + e.getIndex());
            }
        }
        if (prefix.isPresent() && !prefix.get().startsWith("/")) {
            m.problem("pathPrefix", "must start with '/', not '" + prefix.get() + "'");
        }
        if (prefix.isEmpty() && patternText == null) {
            m.problem(null, "needs pathPrefix (e.g. /api/orders) or pathPattern (a regular expression over the path)");
        }
        if (prefix.isPresent() && patternText != null) {
            m.problem("pathPattern", "cannot be combined with pathPrefix; use one of them");
        }
        Set<String> methods = new LinkedHashSet<>();
        JsonNode list = m.raw("methods");
        if (list != null && !list.isNull()) {
            if (!list.isArray()) {
                m.problem("methods", "must be a list such as [GET, HEAD]");
            } else {
                for (JsonNode method : list) {
                    String upper = method.asText().toUpperCase(Locale.ROOT);
                    if (!METHODS.contains(upper)) {
                        m.problem("methods", "'" + method.asText() + "' is not an HTTP method (" + String.join(", ", METHODS) + ")");
                    }
                    methods.add(upper);
                }
            }
        }
        Optional<String> host = Optional.ofNullable(m.string("host", null)).map(h -> h.toLowerCase(Locale.ROOT));
        Optional<String> headerName = Optional.empty();
        Optional<String> headerValue = Optional.empty();
        if (m.has("header")) {
            ConfigNode h = m.object("header");
            headerName = Optional.ofNullable(h.requiredString("name", "X-Api-Version"));
            headerValue = Optional.ofNullable(h.string("value", null));
            h.finish();
            headerName.filter(x -> !HEADER.matcher(x).matches()).ifPresent(x -> h.problem("name", "is not a header name: '" + x + "'"));
        }
        m.finish();
        return new RouteSettings.Match(prefix, pattern, methods, host, headerName, headerValue);
    }

    private static RouteSettings.StickyKey stickyKey(ConfigNode r) {
        String text = r.string("stickyKey", "client-address").trim();
        if (text.equals("client-address")) {
            return new RouteSettings.StickyKey(RouteSettings.StickyKey.Source.CLIENT_ADDRESS, "");
        }
        int colon = text.indexOf(':');
        String kind = colon < 0 ? text : text.substring(0, colon);
        String name = colon < 0 ? "" : text.substring(colon + 1).trim();
        if ((kind.equals("header") || kind.equals("cookie")) && HEADER.matcher(name).matches()) {
            return new RouteSettings.StickyKey(kind.equals("header") ? RouteSettings.StickyKey.Source.HEADER
                    : RouteSettings.StickyKey.Source.COOKIE, name);
        }
        r.problem("stickyKey", "must be header:<name> (e.g. header:X-User-Id), cookie:<name> or client-address, not '" + text + "'");
        return new RouteSettings.StickyKey(RouteSettings.StickyKey.Source.CLIENT_ADDRESS, "");
    }

    private static RouteSettings.Cohort cohort(ConfigNode r, String key) {
        if (!r.has(key)) {
            return RouteSettings.Cohort.NONE;
        }
        ConfigNode c = r.object(key);
        Optional<String> header = Optional.ofNullable(c.string("header", null));
        String value = c.string("value", "1");
        Set<String> keys = new LinkedHashSet<>();
        JsonNode list = c.raw("keys");
        if (list != null && !list.isNull()) {
            if (!list.isArray()) {
                c.problem("keys", "must be a list of sticky key values, e.g. keys: [user-17, user-42]");
            } else {
                list.forEach(k -> keys.add(k.asText()));
            }
        }
        if (header.isEmpty() && keys.isEmpty()) {
            c.problem(null, "names no requests: give header (and value) or keys");
        }
        c.finish();
        return new RouteSettings.Cohort(header, value, keys);
    }

    private static RouteSettings.Shadow shadow(ConfigNode s) {
        boolean enabled = s.bool("enabled", false);
        Set<String> ignore = new LinkedHashSet<>();
        JsonNode list = s.raw("ignoreFields");
        if (list != null && !list.isNull()) {
            if (!list.isArray()) {
                s.problem("ignoreFields", "must be a list of JSON field names, e.g. [updated_at, request_id]");
            } else {
                list.forEach(f -> ignore.add(f.asText()));
            }
        }
        boolean unsafe = s.bool("unsafeMethods", false);
        int samples = s.integer("samples", 50, 0, 10_000);
        int inFlight = s.integer("maxInFlight", 100, 1, 100_000);
        int maxBody = s.integer("maxBodyBytes", 1 << 20, 0, 64 << 20);
        s.finish();
        return new RouteSettings.Shadow(enabled, ignore, unsafe, samples, inFlight, maxBody);
    }

    private static RouteSettings.Gates gates(ConfigNode g) {
        Duration window = g.duration("window", Duration.ofMinutes(1), Duration.ofSeconds(1));
        int minRequests = g.integer("minRequests", 20, 0, Integer.MAX_VALUE);
        double errorRate = fraction(g, "maxErrorRateIncrease", 0.01);
        double latencyRatio = g.has("maxLatencyRatio") ? positive(g, "maxLatencyRatio", 1.5) : 1.5;
        Duration lag = g.duration("maxLag", Duration.ofSeconds(10), Duration.ZERO);
        boolean consistent = g.bool("requireConsistent", true);
        RouteSettings.Gates.OnFailure onFailure = g.choice("onFailure", RouteSettings.Gates.OnFailure.PAUSE,
                RouteSettings.Gates.OnFailure::configName, RouteSettings.Gates.OnFailure.values());
        g.finish();
        return new RouteSettings.Gates(window, minRequests, errorRate, latencyRatio, lag, consistent, onFailure);
    }

    private static double fraction(ConfigNode n, String key, double defaultValue) {
        String text = n.string(key, null);
        if (text == null) {
            return defaultValue;
        }
        String t = text.trim();
        try {
            double v = t.endsWith("%") ? Double.parseDouble(t.substring(0, t.length() - 1)) / 100 : Double.parseDouble(t);
            if (v >= 0 && v <= 1) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        n.problem(key, "must be a fraction 0..1 or a percent such as 1%, not '" + text + "'");
        return defaultValue;
    }

    private static double positive(ConfigNode n, String key, double defaultValue) {
        String text = n.string(key, null);
        try {
            double v = Double.parseDouble(text.trim());
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException | NullPointerException e) {
            // reported below
        }
        n.problem(key, "must be a number above 0 (e.g. 1.5), not '" + text + "'");
        return defaultValue;
    }

    private static Weight weight(ConfigNode n, String key, Weight defaultValue) {
        String text = n.string(key, null);
        if (text == null) {
            return defaultValue;
        }
        try {
            return Weight.parse(text);
        } catch (IllegalArgumentException e) {
            n.problem(key, e.getMessage());
            return defaultValue;
        }
    }
}
