package dev.tributary;

/**
 * A {@link BatchStreamObserver} whose items carry their {@link EventMetadata} ({@link
 * SequentialItem#metadata()} is set); for other batch observers it is null, which costs nothing.
 *
 * @param <T> the event type
 */
@Incubating
@FunctionalInterface
public interface MetadataBatchStreamObserver<T> extends BatchStreamObserver<T> {}
