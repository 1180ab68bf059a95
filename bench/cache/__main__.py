from bench.cache.run import main

main()
