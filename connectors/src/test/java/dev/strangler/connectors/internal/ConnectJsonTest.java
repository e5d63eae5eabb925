package dev.strangler.connectors.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.connect.data.Date;
import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Time;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.json.JsonConverter;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ConnectJsonTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonConverter reference() {
        JsonConverter converter = new JsonConverter();
        converter.configure(Map.of("schemas.enable", "false", "decimal.format", "NUMERIC", "replace.null.with.default", "false"), false);
        return converter;
    }

    @Test
    void writesWhatJsonConverterWrites() throws Exception {
        Schema row = SchemaBuilder.struct().name("row")
                .field("id", Schema.INT64_SCHEMA)
                .field("small", Schema.OPTIONAL_INT16_SCHEMA)
                .field("tiny", Schema.OPTIONAL_INT8_SCHEMA)
                .field("n", Schema.OPTIONAL_INT32_SCHEMA)
                .field("f", Schema.OPTIONAL_FLOAT32_SCHEMA)
                .field("d", Schema.OPTIONAL_FLOAT64_SCHEMA)
                .field("ok", Schema.OPTIONAL_BOOLEAN_SCHEMA)
                .field("name", Schema.OPTIONAL_STRING_SCHEMA)
                .field("status", SchemaBuilder.string().optional().defaultValue("new").build())
                .field("raw", Schema.OPTIONAL_BYTES_SCHEMA)
                .field("buffer", Schema.OPTIONAL_BYTES_SCHEMA)
                .field("amount", Decimal.builder(10).optional().build())
                .field("day", Date.builder().optional().build())
                .field("at", Timestamp.builder().optional().build())
                .field("clock", Time.builder().optional().build())
                .field("tags", SchemaBuilder.array(Schema.OPTIONAL_STRING_SCHEMA).optional().build())
                .field("attrs", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.INT32_SCHEMA).optional().build())
                .field("pairs", SchemaBuilder.map(Schema.INT32_SCHEMA, Schema.STRING_SCHEMA).optional().build())
                .optional().build();
        Schema envelope = SchemaBuilder.struct().name("envelope").field("before", row).field("after", row)
                .field("op", Schema.STRING_SCHEMA).build();
        Struct after = new Struct(row)
                .put("id", 9_007_199_254_740_993L).put("small", (short) -3).put("tiny", (byte) 7).put("n", Integer.MIN_VALUE)
                .put("f", 1.25f).put("d", 1e-300).put("ok", true).put("name", "ünïcödé \"q\" \\ \n ✓ 🚀")
                .put("raw", new byte[]{0, 1, (byte) 255}).put("buffer", ByteBuffer.wrap(new byte[]{42}))
                .put("amount", new BigDecimal("12345678901234567890.0123456789"))
                .put("day", new java.util.Date(86_400_000L * 19_000)).put("at", new java.util.Date(1_700_000_000_123L))
                .put("clock", new java.util.Date(3_600_000L)).put("tags", java.util.Arrays.asList("a", null, "c"))
                .put("attrs", Map.of("x", 1)).put("pairs", Map.of(1, "one"));
        Struct before = new Struct(row).put("id", 1L);   // every optional field NULL, "status" included
        Struct value = new Struct(envelope).put("before", before).put("after", after).put("op", "u");

        byte[] ours = ConnectJson.toBytes(envelope, value);
        byte[] theirs = reference().fromConnectData("t", envelope, value);
        assertThat(JSON.readTree(ours)).isEqualTo(JSON.readTree(theirs));
        assertThat(JSON.readTree(ours).at("/before/status").isNull()).as("NULL is never replaced by the column default").isTrue();
        assertThat(JSON.readTree(ours).at("/after/id").asLong()).isEqualTo(9_007_199_254_740_993L);
    }

    @Test
    void nullValueIsNullRecord() {
        assertThat(ConnectJson.toBytes(Schema.OPTIONAL_STRING_SCHEMA, null)).isNull();
        assertThat(new String(ConnectJson.toBytes(null, Map.of("k", List.of(1, "x"))))).isEqualTo("{\"k\":[1,\"x\"]}");
    }
}
