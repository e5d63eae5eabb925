package dev.strangler.validator;

import dev.strangler.connectors.TableSchema;
import dev.strangler.core.TableId;
import dev.strangler.core.config.TableRoute;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the validator compares for one route: the key and the carried columns, each with its name in
 * the monolith and in the service (renames applied, dropped columns left out), and the route's row
 * filter, which selects the monolith rows the service should hold.
 *
 * @param filter the route's {@code where} condition, evaluated by the monolith database
 */
public record TablePlan(String service, TableId source, TableId target, List<Column> key, List<Column> columns, Optional<String> filter) {

    /**
     * A column as the monolith and the service name it, with its SQL type on each side.
     *
     * @param sourceSql what the monolith side compares: the column's name, or for a transformed column an SQL
     *                  expression in parentheses giving the value the service should hold (cast to its type)
     */
    public record Column(String source, String target, String sourceType, String targetType, String sourceSql) {

        public Column(String source, String target, String sourceType, String targetType) {
            this(source, target, sourceType, targetType, source);
        }
    }

    public TablePlan {
        key = List.copyOf(key);
        columns = List.copyOf(columns);
    }

    /**
     * The plan for a route from the two tables' definitions.
     *
     * @throws IllegalArgumentException when a key column is dropped or the target lacks a carried column
     */
    public static TablePlan of(String service, TableRoute route, TableSchema source, TableSchema target) {
        return of(service, route, source, target, null);
    }

    /**
     * As {@link #of(String, TableRoute, TableSchema, TableSchema)}, with the route's transform pushed into the
     * monolith's SQL: a cast column is compared as {@code CAST(col AS type)}, a derived column as its expression,
     * a masked column as the mask computed by PostgreSQL (hash and fake from an HMAC-SHA256 built from {@code sha256}).
     *
     * @param maskKey {@code sync.maskKey}'s bytes, or null
     */
    public static TablePlan of(String service, TableRoute route, TableSchema source, TableSchema target, byte[] maskKey) {
        List<Column> key = new ArrayList<>();
        for (String column : route.keyOr(source.primaryKey())) {
            String targetName = route.targetColumn(column).orElseThrow(() -> new IllegalArgumentException(
                    "key column " + column + " of " + route.from() + " is dropped; the validator cannot match rows without it"));
            key.add(new Column(column, targetName, source.column(column).orElseThrow().type(),
                    target.column(targetName).orElseThrow(() -> new IllegalArgumentException("key column " + targetName + " is missing in "
                            + service + "'s " + route.to())).type()));
        }
        List<Column> columns = new ArrayList<>();
        for (String column : source.columnNames()) {
            Optional<String> targetName = route.targetColumn(column);
            if (targetName.isEmpty()) {
                continue;
            }
            if (target.column(targetName.get()).isEmpty()) {
                throw new IllegalArgumentException("column " + targetName.get() + " (from " + route.from() + "." + column
                        + ") is missing in " + service + "'s " + route.to());
            }
            String sourceType = source.column(column).orElseThrow().type();
            String targetType = target.column(targetName.get()).orElseThrow().type();
            dev.strangler.core.RowTransform transform = route.transform();
            dev.strangler.core.Mask mask = transform.masks().get(column);
            String cast = transform.casts().get(column);
            if (mask == null && cast == null) {
                columns.add(new Column(column, targetName.get(), sourceType, targetType));
                continue;
            }
            String sql = dev.strangler.connectors.PostgresNames.quote(column);
            if (cast != null) {
                sql = "CAST(" + sql + " AS " + cast + ")";
            }
            if (mask != null) {
                sql = maskSql(mask, sql, maskKey);
            }
            columns.add(new Column(column, targetName.get(), targetType, targetType, "(CAST(" + sql + " AS " + targetType + "))"));
        }
        for (var derived : route.transform().derived().entrySet()) {
            String targetType = target.column(derived.getKey()).orElseThrow(() -> new IllegalArgumentException("derived column "
                    + derived.getKey() + " of " + route.path() + " is missing in " + service + "'s " + route.to())).type();
            columns.add(new Column("(" + derived.getValue().text() + ")", derived.getKey(), targetType, targetType,
                    "(CAST((" + derived.getValue().text() + ") AS " + targetType + "))"));
        }
        return new TablePlan(service, route.from(), route.to(), key, columns, route.where().map(w -> w.text()));
    }

    /**
     * A mask computed by PostgreSQL, to compare with what the sync engine wrote: hash is HMAC-SHA256 built from
     * {@code sha256()} (no extension needed) with the key's inner and outer pads computed here.
     */
    static String maskSql(dev.strangler.core.Mask mask, String value, byte[] maskKey) {
        String text = value + "::text";
        return switch (mask.kind()) {
            case REDACT -> "CASE WHEN " + value + " IS NULL THEN NULL ELSE '" + dev.strangler.core.Mask.REDACTED + "' END";
            case NULL -> "NULL";
            case PARTIAL -> mask.keepLast()
                    ? "repeat('*', greatest(length(" + text + ") - " + mask.keep() + ", 0)) || right(" + text + ", " + mask.keep() + ")"
                    : "left(" + text + ", " + mask.keep() + ") || repeat('*', greatest(length(" + text + ") - " + mask.keep() + ", 0))";
            case HASH -> "encode(" + hmacSql(text, maskKey) + ", 'hex')";
            case FAKE -> mask.fakeSql(hmacSql(text, maskKey));
        };
    }

    /** HMAC-SHA256 of a text expression's UTF-8 bytes, as a {@code bytea} expression built from {@code sha256()}. */
    private static String hmacSql(String text, byte[] maskKey) {
        byte[] key = maskKey == null ? new byte[0] : maskKey;
        byte[] block = new byte[64];
        byte[] k = key.length > 64 ? sha256(key) : key;
        System.arraycopy(k, 0, block, 0, k.length);
        byte[] inner = new byte[64];
        byte[] outer = new byte[64];
        for (int i = 0; i < 64; i++) {
            inner[i] = (byte) (block[i] ^ 0x36);
            outer[i] = (byte) (block[i] ^ 0x5c);
        }
        java.util.HexFormat hex = java.util.HexFormat.of();
        return "sha256('\\x" + hex.formatHex(outer) + "'::bytea || sha256('\\x" + hex.formatHex(inner) + "'::bytea || convert_to("
                + text + ", 'UTF8')))";
    }

    private static byte[] sha256(byte[] data) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(data);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The plan for a route, from the two databases' catalogs.
     *
     * @throws IllegalStateException when either table does not exist
     */
    public static TablePlan read(String service, TableRoute route, java.sql.Connection monolith, java.sql.Connection serviceDb)
            throws java.sql.SQLException {
        return read(service, route, monolith, serviceDb, null);
    }

    /** As {@link #read(String, TableRoute, java.sql.Connection, java.sql.Connection)}, with the mask key for hashed columns. */
    public static TablePlan read(String service, TableRoute route, java.sql.Connection monolith, java.sql.Connection serviceDb,
                                 byte[] maskKey) throws java.sql.SQLException {
        TableSchema source = catalog(monolith).table(route.from()).orElseThrow(() ->
                new IllegalStateException("monolith table " + route.from() + " does not exist"));
        TableSchema target = catalog(serviceDb).table(route.to()).orElseThrow(() ->
                new IllegalStateException("table " + route.to() + " does not exist in service " + service));
        return of(service, route, source, target, maskKey);
    }

    /** The catalog of either engine; both give types in PostgreSQL's terms. */
    private static dev.strangler.connectors.SourceCatalog catalog(java.sql.Connection c) throws java.sql.SQLException {
        return dev.strangler.validator.internal.PortableChecksumSql.Engine.of(c) == dev.strangler.validator.internal.PortableChecksumSql.Engine.POSTGRES
                ? new dev.strangler.connectors.PostgresCatalog(c) : new dev.strangler.connectors.MariaDbCatalog(c);
    }

    /** {@code service/target table}, how reports name the table. */
    public String name() {
        return service + "/" + target;
    }
}
