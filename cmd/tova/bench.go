package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"tova/bench/vmbench"
)

func init() { extraCommands = append(extraCommands, benchCmd) }

func benchCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Run the benchmark harnesses (vm, http)",
	}
	var runs int
	vmc := &cobra.Command{
		Use:   "vm [program...]",
		Short: "Time the VM benchmark programs as whole processes beside native Go",
		RunE: func(cmd *cobra.Command, args []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "whole-process wall time, median of %d runs after 1 warm-up; peak RSS\n", runs)
			return vmbench.Run(cmd.OutOrStdout(), vmbench.Options{Tova: self, Runs: runs, Only: args})
		},
	}
	vmc.Flags().IntVar(&runs, "runs", 5, "counted runs per cell")
	native := &cobra.Command{
		Use:    "native program",
		Short:  "Run the native Go version of a benchmark program",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := vmbench.Native(args[0])
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), out)
			return nil
		},
	}
	c.AddCommand(vmc, native)
	return c
}
