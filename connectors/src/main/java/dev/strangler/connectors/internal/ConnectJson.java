package dev.strangler.connectors.internal;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import org.apache.kafka.connect.data.Date;
import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Time;
import org.apache.kafka.connect.data.Timestamp;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Writes Kafka Connect data as the JSON Kafka's {@code JsonConverter} writes with
 * {@code schemas.enable=false}, {@code decimal.format=NUMERIC} and {@code replace.null.with.default=false}
 * (a NULL stays NULL, never the column's default), but streamed straight to bytes instead of through a
 * tree: the capture's hottest step. {@code ConnectJsonTest} holds it to JsonConverter's output.
 */
public final class ConnectJson {

    private static final JsonFactory FACTORY = new JsonFactory();

    private ConnectJson() {
    }

    public static byte[] toBytes(Schema schema, Object value) {
        if (value == null) {
            return null;
        }
        try (ByteArrayBuilder out = new ByteArrayBuilder(512); JsonGenerator g = FACTORY.createGenerator(out, JsonEncoding.UTF8)) {
            write(g, schema, value);
            g.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a change event as JSON", e);
        }
    }

    private static void write(JsonGenerator g, Schema schema, Object value) throws IOException {
        if (value == null) {
            g.writeNull();
            return;
        }
        if (schema == null) {
            writeSchemaless(g, value);
            return;
        }
        String logical = schema.name();
        if (logical != null) {
            switch (logical) {
                case Decimal.LOGICAL_NAME -> {
                    g.writeNumber((BigDecimal) value);
                    return;
                }
                case Date.LOGICAL_NAME -> {
                    g.writeNumber(Date.fromLogical(schema, (java.util.Date) value));
                    return;
                }
                case Time.LOGICAL_NAME -> {
                    g.writeNumber(Time.fromLogical(schema, (java.util.Date) value));
                    return;
                }
                case Timestamp.LOGICAL_NAME -> {
                    g.writeNumber(Timestamp.fromLogical(schema, (java.util.Date) value));
                    return;
                }
                default -> {
                    // Debezium's semantic types are plain Connect types: written as such below
                }
            }
        }
        switch (schema.type()) {
            case INT8 -> g.writeNumber((Byte) value);
            case INT16 -> g.writeNumber((Short) value);
            case INT32 -> g.writeNumber((Integer) value);
            case INT64 -> g.writeNumber((Long) value);
            case FLOAT32 -> g.writeNumber((Float) value);
            case FLOAT64 -> g.writeNumber((Double) value);
            case BOOLEAN -> g.writeBoolean((Boolean) value);
            case STRING -> g.writeString((String) value);
            case BYTES -> writeBytes(g, value);
            case ARRAY -> {
                g.writeStartArray();
                for (Object element : (Collection<?>) value) {
                    write(g, schema.valueSchema(), element);
                }
                g.writeEndArray();
            }
            case MAP -> writeMap(g, schema, (Map<?, ?>) value);
            case STRUCT -> {
                Struct struct = (Struct) value;
                g.writeStartObject();
                for (Field field : schema.fields()) {
                    g.writeFieldName(field.name());
                    write(g, field.schema(), struct.getWithoutDefault(field.name()));
                }
                g.writeEndObject();
            }
        }
    }

    private static void writeMap(JsonGenerator g, Schema schema, Map<?, ?> map) throws IOException {
        if (schema.keySchema().type() == Schema.Type.STRING) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                g.writeFieldName((String) e.getKey());
                write(g, schema.valueSchema(), e.getValue());
            }
            g.writeEndObject();
        } else {
            g.writeStartArray();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                g.writeStartArray();
                write(g, schema.keySchema(), e.getKey());
                write(g, schema.valueSchema(), e.getValue());
                g.writeEndArray();
            }
            g.writeEndArray();
        }
    }

    private static void writeBytes(JsonGenerator g, Object value) throws IOException {
        if (value instanceof byte[] bytes) {
            g.writeBinary(bytes);
        } else {
            ByteBuffer buffer = ((ByteBuffer) value).duplicate();
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            g.writeBinary(bytes);
        }
    }

    private static void writeSchemaless(JsonGenerator g, Object value) throws IOException {
        if (value instanceof Map<?, ?> map) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                g.writeFieldName(String.valueOf(e.getKey()));
                writeSchemaless(g, e.getValue());
            }
            g.writeEndObject();
        } else if (value instanceof Collection<?> list) {
            g.writeStartArray();
            for (Object element : list) {
                writeSchemaless(g, element);
            }
            g.writeEndArray();
        } else if (value instanceof String s) {
            g.writeString(s);
        } else if (value instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            g.writeNumber(((Number) value).longValue());
        } else if (value instanceof Float || value instanceof Double) {
            g.writeNumber(((Number) value).doubleValue());
        } else if (value instanceof BigDecimal d) {
            g.writeNumber(d);
        } else if (value instanceof byte[] || value instanceof ByteBuffer) {
            writeBytes(g, value);
        } else if (value instanceof java.util.Date d) {
            g.writeNumber(TimeUnit.MILLISECONDS.toMillis(d.getTime()));
        } else {
            g.writeString(String.valueOf(value));
        }
    }
}
