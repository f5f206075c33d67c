"""The classic Pipe + Process program that examples/pipe_fork.rs mirrors."""
from multiprocessing import Pipe, Process, set_start_method


def worker(reader, writer):
    writer.close()  # the child's copy of the write end, or EOF never comes
    while True:
        try:
            msg = reader.recv()
        except EOFError:
            break
        print(msg, flush=True)


def main():
    set_start_method("fork")
    reader, writer = Pipe(duplex=False)
    p = Process(target=worker, args=(reader, writer))
    p.start()
    reader.close()
    for i in range(1000):
        writer.send(i)
    writer.close()
    p.join()
    print("Main process is done")


if __name__ == "__main__":
    main()
