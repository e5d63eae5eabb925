package dev.strangler.syncengine.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One captured change on its way through the sequencer: its source position ({@code order}: unique
 * within the transaction, stable across capture restarts, increasing in execution order), Debezium's
 * {@code total_order} (its place among the changes the capture sent for the transaction <em>in this capture
 * session</em>: a capture restarted mid-transaction counts again from 1) and the
 * apply records it produced for transaction-consistent services (possibly none: a filtered row, a
 * replay, a table only per-row services receive still counts toward the transaction's END).
 * {@code markerOrigin}: the change is the origin marker of a writer transaction (two-way sync), naming
 * where the writer's changes came from, and {@code markerThrough} the highest row sequence the writer had
 * applied with it; null and 0 for every other change.
 * Internal binary form, on the sequencer topic and in the sequencer's store.
 */
record SequencedChange(String transactionId, Position position, long totalOrder, long sourceCommitMicros, List<Row> rows,
                       String markerOrigin, long markerThrough) {

    /** 3 adds the position's tie-break after the total order and the marker after the rows; 2 is read too */
    private static final int FORMAT = 3;

    SequencedChange(String transactionId, long order, long totalOrder, long sourceCommitMicros, List<Row> rows) {
        this(transactionId, new Position(order, ""), totalOrder, sourceCommitMicros, rows, null, 0);
    }

    /**
     * Where a change sits in its transaction: its source position, and a tie-break for changes that share one
     * (a TRUNCATE of several tables is one WAL record and comes as one event per table, all at its position:
     * the table name tells them apart). Stable across capture restarts.
     */
    record Position(long order, String tie) implements Comparable<Position> {
        @Override
        public int compareTo(Position other) {
            int byOrder = Long.compare(order, other.order);
            return byOrder != 0 ? byOrder : tie.compareTo(other.tie);
        }
    }

    long order() {
        return position.order();
    }

    /** One apply record for one service: the apply topic's key and value. */
    record Row(String service, byte[] key, byte[] value) {
    }

    byte[] toBytes() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(FORMAT);
            out.writeUTF(transactionId);
            out.writeLong(position.order());
            out.writeLong(totalOrder);
            out.writeUTF(position.tie());
            out.writeLong(sourceCommitMicros);
            out.writeInt(rows.size());
            for (Row row : rows) {
                out.writeUTF(row.service());
                out.writeInt(row.key().length);
                out.write(row.key());
                out.writeInt(row.value().length);
                out.write(row.value());
            }
            out.writeBoolean(markerOrigin != null);
            if (markerOrigin != null) {
                out.writeUTF(markerOrigin);
                out.writeLong(markerThrough);
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The transaction, position and total order of a change, read without copying its rows. */
    record Header(String transactionId, Position position, long totalOrder) {
    }

    static Header header(byte[] data) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            int format = checkFormat(in.readByte());
            String tx = in.readUTF();
            long order = in.readLong();
            long totalOrder = in.readLong();
            return new Header(tx, new Position(order, format >= 3 ? in.readUTF() : ""), totalOrder);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A copy of an encoded change with another total order (the rows stay as they are). */
    static byte[] withTotalOrder(byte[] data, long totalOrder) {
        int txLength = ((data[1] & 0xff) << 8) | (data[2] & 0xff);
        byte[] copy = data.clone();
        java.nio.ByteBuffer.wrap(copy).putLong(1 + 2 + txLength + 8, totalOrder);
        return copy;
    }

    private static int checkFormat(int format) {
        if (format != FORMAT && format != 2) {
            throw new IllegalStateException("sequencer record format " + format + " is not " + FORMAT
                    + "; this version of Strangler cannot read what a newer one wrote");
        }
        return format;
    }

    static SequencedChange fromBytes(byte[] data) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            int format = checkFormat(in.readByte());
            String tx = in.readUTF();
            long order = in.readLong();
            long totalOrder = in.readLong();
            String tie = format >= 3 ? in.readUTF() : "";
            long micros = in.readLong();
            int n = in.readInt();
            List<Row> rows = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                String service = in.readUTF();
                byte[] key = in.readNBytes(in.readInt());
                byte[] value = in.readNBytes(in.readInt());
                rows.add(new Row(service, key, value));
            }
            String marker = format >= 3 && in.readBoolean() ? in.readUTF() : null;
            long through = marker == null ? 0 : in.readLong();
            return new SequencedChange(tx, new Position(order, tie), totalOrder, micros, rows, marker, through);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
