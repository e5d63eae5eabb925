package dev.strangler.core;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DebeziumEnvelopeTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void readsTheEnvelopeWithOrWithoutTheSchemaWrapper() {
        String plain = "{\"before\":null,\"after\":{\"id\":5,\"amount\":\"12345678901234567890.0123456789\"},"
                + "\"source\":{\"schema\":\"public\",\"table\":\"t\",\"lsn\":42,\"ts_ms\":1000},\"op\":\"c\"}";
        ChangeEvent a = DebeziumEnvelope.parse(b("{\"id\":5}"), b(plain)).orElseThrow();
        ChangeEvent b = DebeziumEnvelope.parse(b("{\"schema\":{},\"payload\":{\"id\":5}}"), b("{\"schema\":{},\"payload\":" + plain + "}")).orElseThrow();
        assertThat(a).isEqualTo(b);
        assertThat(a.op()).isEqualTo(ChangeEvent.Op.CREATE);
        assertThat(a.position().version()).isEqualTo(42);
        assertThat(a.position().commitTimeMicros()).isEqualTo(1_000_000);
        assertThat(a.after().get("amount").asText()).isEqualTo("12345678901234567890.0123456789");
    }

    @Test
    void snapshotRowsAreOlderThanAnyStreamedChange() {
        String snapshot = "{\"after\":{\"id\":5},\"source\":{\"schema\":\"public\",\"table\":\"t\",\"lsn\":900,\"ts_ms\":1000},\"op\":\"r\"}";
        String streamed = "{\"after\":{\"id\":5},\"source\":{\"schema\":\"public\",\"table\":\"t\",\"lsn\":100,\"ts_ms\":1000},\"op\":\"u\"}";
        long snapshotVersion = DebeziumEnvelope.parse(null, b(snapshot)).orElseThrow().position().version();
        long streamedVersion = DebeziumEnvelope.parse(null, b(streamed)).orElseThrow().position().version();
        assertThat(snapshotVersion).isEqualTo(SourcePosition.SNAPSHOT_VERSION).isLessThan(streamedVersion);
    }

    @Test
    void postgresTransactionIdsNameTheTransactionNotTheEvent() {
        String change = "{\"after\":{\"id\":5},\"source\":{\"schema\":\"public\",\"table\":\"t\",\"lsn\":31557448,\"ts_ms\":1000},"
                + "\"op\":\"c\",\"transaction\":{\"id\":\"2394:31557448\",\"total_order\":3,\"data_collection_order\":1}}";
        ChangeEvent.TransactionRef tx = DebeziumEnvelope.parse(null, b(change)).orElseThrow().transaction();
        assertThat(tx).isEqualTo(new ChangeEvent.TransactionRef("2394", 3));
        String end = "{\"status\":\"END\",\"id\":\"2394:31557600\",\"event_count\":3,\"data_collections\":"
                + "[{\"data_collection\":\"public.t\",\"event_count\":3}],\"ts_ms\":1}";
        assertThat(TransactionEnd.parse(b(end)).orElseThrow()).isEqualTo(new TransactionEnd("2394", 3, java.util.Map.of("public.t", 3L), 31557600));
        String gtidEnd = "{\"status\":\"END\",\"id\":\"3E11FA47-71CA-11E1-9E33-C80AA9429562:23\",\"event_count\":1}";
        assertThat(TransactionEnd.parse(b(gtidEnd)).orElseThrow().commitPosition()).isEqualTo(TransactionEnd.UNKNOWN_POSITION);
        assertThat(ChangeEvent.TransactionRef.normalize("3E11FA47-71CA-11E1-9E33-C80AA9429562:23")).isEqualTo("3E11FA47-71CA-11E1-9E33-C80AA9429562:23");
        assertThat(TransactionEnd.parse(b("{\"status\":\"BEGIN\",\"id\":\"1:2\"}"))).isEmpty();
        String wrapped = "{\"schema\":{\"type\":\"struct\"},\"payload\":" + end + "}";
        assertThat(TransactionEnd.parse(b(wrapped)).orElseThrow().commitPosition()).isEqualTo(31557600);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> TransactionEnd.parse(b("{\"id\":\"7\"}")))
                .isInstanceOf(MalformedChangeException.class).hasMessageContaining("'status' and 'id' are required");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> TransactionEnd.parse(b("[1]")))
                .isInstanceOf(MalformedChangeException.class).hasMessageContaining("not a JSON object");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> TransactionEnd.parse(b("{\"status\":")))
                .isInstanceOf(MalformedChangeException.class).hasMessageContaining("not JSON");
    }

    @Test
    void tombstonesAreSkipped() {
        assertThat(DebeziumEnvelope.parse(b("{\"id\":5}"), null)).isEmpty();
    }

    @Test
    void badRecordsSayWhatIsWrong() {
        assertThatThrownBy(() -> DebeziumEnvelope.parse(null, b("not json"))).isInstanceOf(MalformedChangeException.class).hasMessageContaining("not JSON");
        assertThatThrownBy(() -> DebeziumEnvelope.parse(null, b("{\"a\":1}"))).hasMessageContaining("'op' and 'source' are required");
        assertThatThrownBy(() -> DebeziumEnvelope.parse(null, b("{\"op\":\"x\",\"source\":{}}"))).hasMessageContaining("unknown change operation 'x'");
        assertThatThrownBy(() -> DebeziumEnvelope.parse(null, b("{\"op\":\"c\",\"after\":{\"id\":1},\"source\":{\"schema\":\"s\",\"table\":\"t\"}}")))
                .hasMessageContaining("no position");
    }

    @Test
    void mariaDbChangesOrderByGtidThenByTheirPlaceInTheTransaction() {
        assertThat(DebeziumEnvelope.gtidVersion("0-1-5", 1)).isGreaterThan(DebeziumEnvelope.gtidVersion("0-1-4", 70_000));
        assertThat(DebeziumEnvelope.gtidVersion("0-1-5", 3)).isGreaterThan(DebeziumEnvelope.gtidVersion("0-1-5", 2));
        String uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        assertThat(DebeziumEnvelope.gtidVersion(uuid + ":23", 1)).isGreaterThan(DebeziumEnvelope.gtidVersion(uuid + ":22", 70_000))
                .isEqualTo((23L << 20) | 1);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> DebeziumEnvelope.gtidVersion("0-1-5", 2_000_000))
                .hasMessageContaining("1,048,575 changes per transaction");
    }

    @Test
    void binlogPositionsOrderAcrossFiles() {
        assertThat(DebeziumEnvelope.binlogVersion("mysql-bin.000002", 4, 0)).isGreaterThan(DebeziumEnvelope.binlogVersion("mysql-bin.000001", 999_999, 7));
        assertThat(DebeziumEnvelope.binlogVersion("mysql-bin.000001", 500, 1)).as("rows of one multi-row event")
                .isGreaterThan(DebeziumEnvelope.binlogVersion("mysql-bin.000001", 500, 0));
        assertThat(DebeziumEnvelope.binlogVersion("mysql-bin.000001", 501, 0)).isGreaterThan(DebeziumEnvelope.binlogVersion("mysql-bin.000001", 500, 9));
    }
}
