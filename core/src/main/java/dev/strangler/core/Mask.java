package dev.strangler.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a column's value is hidden on its way to a service: {@code hash} (HMAC-SHA256 with a secret key, as 64
 * hex characters: stable, so joins and lookups still work, and not reversible without the key), {@code redact}
 * ({@code ***}), {@code null}, {@code partial(keep-last=4)} / {@code partial(keep-first=2)} (the other characters
 * become {@code *}), {@code fake(email|name|phone)} (a made-up but plausible value, the same for the same
 * source value and key). NULL stays NULL.
 */
public final class Mask {

    /** The kinds of mask. */
    public enum Kind {
        HASH, REDACT, NULL, PARTIAL, FAKE
    }

    /** What {@code fake} makes. */
    public enum Fake {
        EMAIL, NAME, PHONE
    }

    public static final String REDACTED = "***";

    private static final Pattern PARTIAL = Pattern.compile("partial\\(\\s*keep-(last|first)\\s*=\\s*(\\d+)\\s*\\)");
    private static final Pattern FAKE = Pattern.compile("fake\\(\\s*(email|name|phone)\\s*\\)");
    private static final List<String> FIRST_NAMES = List.of("Alex", "Billie", "Casey", "Dana", "Eden", "Frankie", "Gray", "Harper",
            "Indy", "Jesse", "Kai", "Lee", "Morgan", "Noa", "Oakley", "Parker", "Quinn", "Reese", "Sage", "Taylor", "Uma", "Val",
            "Wren", "Yael", "Zion", "Ari", "Blake", "Cameron", "Drew", "Emery", "Finley", "Jordan");
    private static final List<String> LAST_NAMES = List.of("Abbott", "Baker", "Carter", "Dalton", "Ellis", "Foster", "Garcia", "Hughes",
            "Iqbal", "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quint", "Rossi", "Silva", "Tanaka",
            "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zimmer", "Andersen", "Becker", "Costa", "Dubois", "Eriksen", "Fischer");

    private final String text;
    private final Kind kind;
    private final boolean keepLast;
    private final int keep;
    private final Fake fake;

    private Mask(String text, Kind kind, boolean keepLast, int keep, Fake fake) {
        this.text = text;
        this.kind = kind;
        this.keepLast = keepLast;
        this.keep = keep;
        this.fake = fake;
    }

    /** @throws IllegalArgumentException naming the accepted forms */
    public static Mask parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        switch (t) {
            case "hash":
                return new Mask(t, Kind.HASH, false, 0, null);
            case "redact":
                return new Mask(t, Kind.REDACT, false, 0, null);
            case "null":
                return new Mask(t, Kind.NULL, false, 0, null);
            default:
                break;
        }
        Matcher partial = PARTIAL.matcher(t);
        if (partial.matches()) {
            return new Mask(t, Kind.PARTIAL, partial.group(1).equals("last"), Integer.parseInt(partial.group(2)), null);
        }
        Matcher fake = FAKE.matcher(t);
        if (fake.matches()) {
            return new Mask(t, Kind.FAKE, false, 0, Fake.valueOf(fake.group(1).toUpperCase(Locale.ROOT)));
        }
        throw new IllegalArgumentException("'" + text + "' is not a mask (hash, redact, null, partial(keep-last=N), partial(keep-first=N), "
                + "fake(email), fake(name), fake(phone))");
    }

    /** Whether the mask needs the secret key ({@code sync.maskKey}). */
    public boolean needsKey() {
        return kind == Kind.HASH || kind == Kind.FAKE;
    }

    public Kind kind() {
        return kind;
    }

    /** For PARTIAL: whether the last characters are kept (else the first). */
    public boolean keepLast() {
        return keepLast;
    }

    /** For PARTIAL: how many characters are kept. */
    public int keep() {
        return keep;
    }

    /** For FAKE: what is made up. */
    public Fake fake() {
        return fake;
    }

    /** The masked value; {@code key} may be null when {@link #needsKey()} is false. */
    public JsonNode apply(JsonNode value, byte[] key) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (value == null || value.isNull()) {
            return f.nullNode();
        }
        String s = value.isTextual() ? value.textValue() : value.toString();
        return switch (kind) {
            case HASH -> f.textNode(hmacHex(key, s));
            case REDACT -> f.textNode(REDACTED);
            case NULL -> f.nullNode();
            case PARTIAL -> f.textNode(partial(s));
            case FAKE -> f.textNode(fake(hmac(key, s)));
        };
    }

    private String partial(String s) {
        int[] cps = s.codePoints().toArray();
        int kept = Math.min(keep, cps.length);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < cps.length; i++) {
            boolean keepIt = keepLast ? i >= cps.length - kept : i < kept;
            out.appendCodePoint(keepIt ? cps[i] : '*');
        }
        return out.toString();
    }

    private String fake(byte[] digest) {
        int a = Byte.toUnsignedInt(digest[0]) % FIRST_NAMES.size();
        int b = Byte.toUnsignedInt(digest[1]) % LAST_NAMES.size();
        return switch (fake) {
            case NAME -> FIRST_NAMES.get(a) + " " + LAST_NAMES.get(b);
            case EMAIL -> FIRST_NAMES.get(a).toLowerCase(Locale.ROOT) + "." + LAST_NAMES.get(b).toLowerCase(Locale.ROOT) + "."
                    + HexFormat.of().formatHex(digest, 2, 5) + "@example.com";
            case PHONE -> {
                long n = ((long) Byte.toUnsignedInt(digest[2]) << 16 | Byte.toUnsignedInt(digest[3]) << 8 | Byte.toUnsignedInt(digest[4])) % 10_000;
                yield "+1-555-01" + String.format("%02d", (n / 100) % 100) + "-" + String.format("%02d", n % 100);
            }
        };
    }

    /**
     * The fake value as PostgreSQL computes it from the HMAC digest (a {@code bytea} SQL expression), so the
     * validator can compare a fake-masked column inside the database: the same choices as {@link #apply}.
     */
    public String fakeSql(String digestSql) {
        String first = "(ARRAY[" + FIRST_NAMES.stream().map(n -> "'" + n + "'").collect(java.util.stream.Collectors.joining(",")) + "])[1 + get_byte("
                + digestSql + ", 0) % " + FIRST_NAMES.size() + "]";
        String last = "(ARRAY[" + LAST_NAMES.stream().map(n -> "'" + n + "'").collect(java.util.stream.Collectors.joining(",")) + "])[1 + get_byte("
                + digestSql + ", 1) % " + LAST_NAMES.size() + "]";
        return switch (fake) {
            case NAME -> first + " || ' ' || " + last;
            case EMAIL -> "lower(" + first + ") || '.' || lower(" + last + ") || '.' || encode(substring(" + digestSql
                    + " from 3 for 3), 'hex') || '@example.com'";
            case PHONE -> {
                // parenthesised: PostgreSQL gives << and | the same precedence
                String n = "(((get_byte(" + digestSql + ", 2) << 16) | (get_byte(" + digestSql + ", 3) << 8) | get_byte(" + digestSql + ", 4)) % 10000)";
                yield "'+1-555-01' || lpad(((" + n + " / 100) % 100)::text, 2, '0') || '-' || lpad((" + n + " % 100)::text, 2, '0')";
            }
        };
    }

    /** HMAC-SHA256 of the value's UTF-8 text, as 64 lower-case hex characters. */
    public static String hmacHex(byte[] key, String value) {
        return HexFormat.of().formatHex(hmac(key, value));
    }

    private static byte[] hmac(byte[] key, String value) {
        if (key == null || key.length == 0) {
            throw new IllegalStateException("a hash or fake mask needs sync.maskKey");
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(value.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return text;
    }
}
