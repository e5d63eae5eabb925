package dev.strangler.connectors;

/**
 * One column as the database declares it.
 *
 * @param type     the full SQL type as PostgreSQL prints it ({@code numeric(38,10)}, {@code text[]})
 * @param baseType the type's name without modifiers ({@code numeric}, {@code _text} for arrays)
 */
public record ColumnSchema(String name, String type, String baseType, boolean nullable, boolean array) {

    public boolean binary() {
        return baseType.equals("bytea");
    }
}
